import { z } from 'zod';
import type { Config } from '../../config';
import { calendarAccessToken, serviceAccountOf } from './google-auth';
import { validTimeZone } from './time';
import { defineTool, type ToolContext, ToolError } from './types';
import { callUpstream } from './upstream';

// Google Calendar API v3 (events.list, events.insert) on the configured calendar, as the configured
// service account. On only when the account's key is configured and usable.

export const GOOGLE_CALENDAR_BASE_URL = 'https://www.googleapis.com/calendar/v3';
const SERVICE = 'Google Calendar';

const enabled = (config: Config) => serviceAccountOf(config) !== undefined;

const EventTime = z.object({
  dateTime: z.string().optional(),
  date: z.string().optional(),
  timeZone: z.string().optional(),
});
const Event = z.object({
  id: z.string(),
  status: z.string().optional(),
  summary: z.string().optional(),
  description: z.string().optional(),
  location: z.string().optional(),
  htmlLink: z.string().optional(),
  start: EventTime.optional(),
  end: EventTime.optional(),
});
type Event = z.infer<typeof Event>;
const EventList = z.object({ items: z.array(Event).default([]) });

// What the model sees of an event (not attendees' addresses or the organizer's).
const eventView = (e: Event) => ({
  id: e.id,
  summary: e.summary ?? null,
  start: e.start?.dateTime ?? e.start?.date ?? null,
  end: e.end?.dateTime ?? e.end?.date ?? null,
  location: e.location ?? null,
  description: e.description ?? null,
  status: e.status ?? null,
  link: e.htmlLink ?? null,
});

async function calendarFetch<T>(
  ctx: ToolContext,
  path: string,
  init: RequestInit,
  query: URLSearchParams | undefined,
  schema: z.ZodType<T>,
): Promise<T> {
  const token = await calendarAccessToken(ctx.config, ctx.signal);
  const base = (ctx.config.GOOGLE_CALENDAR_BASE_URL ?? GOOGLE_CALENDAR_BASE_URL).replace(/\/+$/, '');
  const url = `${base}/calendars/${encodeURIComponent(ctx.config.GOOGLE_CALENDAR_ID)}${path}${query ? `?${query}` : ''}`;
  return callUpstream(
    {
      service: SERVICE,
      url,
      init: { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } },
      signal: ctx.signal,
    },
    schema,
  );
}

const dateTime = z.iso.datetime({ offset: true });
const timeZone = z.string().max(64).refine(validTimeZone, { message: 'Unknown time zone' });

const ListArgs = z
  .object({
    timeMin: dateTime.optional(),
    timeMax: dateTime.optional(),
    q: z.string().max(200).optional(),
    maxResults: z.number().int().min(1).max(50).optional(),
  })
  .refine((a) => !a.timeMin || !a.timeMax || Date.parse(a.timeMin) < Date.parse(a.timeMax), {
    message: 'timeMin must be before timeMax',
  });

export const calendarListEvents = defineTool({
  name: 'calendar_list_events',
  description:
    'Lists events of the Google Calendar, in start order. Times are RFC 3339 with an offset, e.g. 2026-12-03T09:00:00Z.',
  parameters: {
    type: 'object',
    properties: {
      timeMin: { type: 'string', format: 'date-time', description: 'Events ending after this time' },
      timeMax: { type: 'string', format: 'date-time', description: 'Events starting before this time' },
      q: { type: 'string', description: 'Free text to match', maxLength: 200 },
      maxResults: { type: 'integer', minimum: 1, maximum: 50 },
    },
    additionalProperties: false,
  },
  args: ListArgs,
  enabled,
  run: async (args, ctx) => {
    const query = new URLSearchParams({
      singleEvents: 'true',
      orderBy: 'startTime',
      maxResults: String(args.maxResults ?? 10),
    });
    if (args.timeMin) query.set('timeMin', args.timeMin);
    if (args.timeMax) query.set('timeMax', args.timeMax);
    if (args.q) query.set('q', args.q);
    const list = await calendarFetch(ctx, '/events', { method: 'GET' }, query, EventList);
    return { events: list.items.map(eventView) };
  },
});

const CreateArgs = z
  .object({
    summary: z.string().trim().min(1).max(500),
    start: dateTime,
    end: dateTime,
    timeZone: timeZone.optional(),
    description: z.string().max(5_000).optional(),
    location: z.string().max(500).optional(),
  })
  .refine((a) => Date.parse(a.start) < Date.parse(a.end), { message: 'start must be before end' });

export const calendarCreateEvent = defineTool({
  name: 'calendar_create_event',
  description: 'Creates an event in the Google Calendar. Times are RFC 3339 with an offset.',
  parameters: {
    type: 'object',
    properties: {
      summary: { type: 'string', maxLength: 500 },
      start: { type: 'string', format: 'date-time' },
      end: { type: 'string', format: 'date-time' },
      timeZone: { type: 'string', description: 'IANA time zone, e.g. Europe/Paris' },
      description: { type: 'string', maxLength: 5000 },
      location: { type: 'string', maxLength: 500 },
    },
    required: ['summary', 'start', 'end'],
    additionalProperties: false,
  },
  args: CreateArgs,
  enabled,
  run: async (args, ctx) => {
    const at = (dateTime: string) => ({ dateTime, ...(args.timeZone ? { timeZone: args.timeZone } : {}) });
    const body = {
      summary: args.summary,
      start: at(args.start),
      end: at(args.end),
      ...(args.description ? { description: args.description } : {}),
      ...(args.location ? { location: args.location } : {}),
    };
    const event = await calendarFetch(
      ctx,
      '/events',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      undefined,
      Event,
    );
    if (!event.id) throw new ToolError(`${SERVICE} did not say which event it created`);
    return { created: eventView(event) };
  },
});
