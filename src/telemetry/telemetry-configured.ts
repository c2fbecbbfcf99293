/**
 * Whether the standard OpenTelemetry variables ask for traces (docs/reference.md, "Where bytes live, webhooks, traces"). Imports
 * nothing: src/main.ts asks before anything else is loaded, so with tracing off no
 * OpenTelemetry SDK module is ever read.
 *
 * On when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or its traces-only form) or
 * OTEL_TRACES_EXPORTER names an exporter; off whatever else is set when OTEL_SDK_DISABLED
 * is true or OTEL_TRACES_EXPORTER is `none`.
 */
export function telemetryConfigured(env: NodeJS.ProcessEnv): boolean {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  if ((env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '').trim().toLowerCase();
  if (exporters === 'none') return false;
  return set('OTEL_EXPORTER_OTLP_ENDPOINT') || set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') || exporters !== '';
}
