# The upm application image: the web app, the Celery worker and beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv/upm

COPY pyproject.toml README.md ./
COPY app ./app
COPY billing_engine ./billing_engine
COPY metering ./metering
COPY ivr_flows ./ivr_flows
COPY sms_flows ./sms_flows
COPY chatops ./chatops
COPY templates ./templates
RUN pip install --no-cache-dir .

RUN useradd --system --home /srv/upm upm && mkdir -p /srv/upm/var && chown upm /srv/upm/var
USER upm
EXPOSE 8000
CMD ["upm", "serve", "--host", "0.0.0.0", "--port", "8000"]
