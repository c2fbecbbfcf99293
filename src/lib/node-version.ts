/**
 * The oldest Node.js Tally runs on: pg-boss 12 and kysely 0.29 need 22.12; the OpenTelemetry
 * SDK (traces; @opentelemetry/sdk-node 0.301) needs 22.15.
 */
export const MINIMUM_NODE = '22.15.0';

/** Why this Node.js cannot run Tally, in one line for a person; undefined when it can. */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  const [minMajor = 0, minMinor = 0] = MINIMUM_NODE.split('.').map(Number);
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return undefined;
  return `Tally needs Node.js ${MINIMUM_NODE} or later (24 LTS recommended); this is ${version}.`;
}
