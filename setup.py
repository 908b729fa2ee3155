"""Build hook: the wheel carries the shipped default bundle (models/default) as package data.

It lands in ``feedback_nlp/bundled/default``, where :func:`feedback_nlp.settings.default_model_dir`
finds it when the package runs outside a checkout (``pip install dist/*.whl``). Everything else
about the build is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLE = Path(__file__).resolve().parent / "models" / "default"


class BuildWithBundle(build_py):
    """``build_py`` that also copies the default bundle's files into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads models/default from the checkout
        target = Path(self.build_lib) / "feedback_nlp" / "bundled" / "default"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(BUNDLE.iterdir()):
            if path.is_file():
                shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildWithBundle})
