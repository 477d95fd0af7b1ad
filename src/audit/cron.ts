/** Cron expressions of `AUDIT_SCHEDULE` (five fields, UTC), through cron-parser (also BullMQ's). */
import cronParser from 'cron-parser';

/** The first time after `after` that matches; throws on an invalid expression. */
export function nextRun(schedule: string, after: Date): Date {
  return cronParser.parseExpression(schedule, { currentDate: after, utc: true }).next().toDate();
}

export function isValidSchedule(schedule: string): boolean {
  try {
    if (schedule.trim().split(/\s+/).length !== 5) return false;
    nextRun(schedule, new Date());
    return true;
  } catch {
    return false;
  }
}
