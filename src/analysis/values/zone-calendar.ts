import { daysFromCivil } from './calendar.ts';

/** Offsets remembered before the cache starts over (~40 bytes each). */
const MAX_CACHED = 50_000;

/**
 * The calendar of one IANA time zone (`options.timeZone`, docs/reference.md "Values"), for zoned
 * date-times. Intl is the zone database (no table ships with Tally). Its `formatToParts`
 * costs microseconds, so the offset is asked once per 15-minute slot of UTC and kept: every
 * offset change since 1970 falls on a quarter hour, so within a slot the offset is one.
 * Exports run in date order, so the last slot answers most rows.
 */
export class ZoneCalendar {
  private readonly format: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();
  private lastSlot = NaN;
  private lastOffset = 0;

  constructor(readonly zone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
  }

  /** The zone's day of the instant written on `day` at `utcMinutes` past that day's UTC midnight. */
  dayOf(day: number, utcMinutes: number): number {
    const instant = day * 1440 + utcMinutes;
    return Math.floor((instant + this.offsetAt(instant)) / 1440);
  }

  /** Minutes the zone is ahead of UTC at `instant` (minutes since 1970-01-01T00:00Z). */
  private offsetAt(instant: number): number {
    const slot = Math.floor(instant / 15);
    if (slot === this.lastSlot) return this.lastOffset;
    let offset = this.offsets.get(slot);
    if (offset === undefined) {
      offset = this.compute(slot * 15);
      if (this.offsets.size >= MAX_CACHED) this.offsets.clear();
      this.offsets.set(slot, offset);
    }
    this.lastSlot = slot;
    this.lastOffset = offset;
    return offset;
  }

  private compute(instant: number): number {
    const parts: Record<string, number> = {};
    for (const p of this.format.formatToParts(instant * 60_000)) {
      if (p.type !== 'literal') parts[p.type] = Number(p.value);
    }
    const local =
      daysFromCivil(parts.year!, parts.month!, parts.day!) * 1440 + parts.hour! * 60 + parts.minute!;
    return local - instant;
  }
}
