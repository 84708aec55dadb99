// A real Alertmanager (and a Prometheus that feeds it) for tests: see README.md in this folder.
export { startAlertmanager, sumSeries, type AlertmanagerFixture, type StartAlertmanagerOptions, type WebhookReceiver } from './start-alertmanager.ts';
export { startAlertingPrometheus, type AlertingPrometheus, type StartAlertingPrometheusOptions } from './start-alerting-prometheus.ts';
export { startWebhookRecorder, type RecordedDelivery, type WebhookPayload, type WebhookRecorder } from './webhook-recorder.ts';
