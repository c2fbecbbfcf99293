import { describe, expect, it } from 'vitest';
import { telemetryConfigured } from '../../src/telemetry/telemetry-configured.ts';

describe('telemetryConfigured (whether src/main.ts loads the OpenTelemetry SDK)', () => {
  it('is off unless an OTLP endpoint or a traces exporter is named', () => {
    expect(telemetryConfigured({})).toBe(false);
    expect(telemetryConfigured({ OTEL_SERVICE_NAME: 'tally', OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false);
    expect(telemetryConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(telemetryConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(true);
    expect(telemetryConfigured({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
  });

  it('is off when the SDK is disabled or traces are exported nowhere, whatever else is set', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(telemetryConfigured({ ...endpoint, OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(telemetryConfigured({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });
});
