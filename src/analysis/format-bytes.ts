const MiB = 1024 * 1024;

/** A byte count for a person: "64 KiB"-style sizes read better in messages than raw numbers. */
export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= MiB) return `${+(n / MiB).toFixed(2)} MiB`;
  return `${n} bytes`;
}
