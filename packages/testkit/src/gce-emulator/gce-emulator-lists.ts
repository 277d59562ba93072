import { FilterSyntaxError, parseFilter } from './gce-emulator-filter.js';
import { badRequest } from './gce-emulator-http.js';
import { API_BASE, type GceEmulatorState, type Json } from './gce-emulator-state.js';

/** A `list` answer: the items passing `filter`, one page of them, as GCE pages. */
export function list(
  gce: GceEmulatorState,
  kind: string,
  selfLink: string,
  items: Json[],
  query: URLSearchParams,
): Json {
  const filter = compileFilter(query.get('filter'));
  const page = paginate(gce, items.filter(filter), query);
  return {
    kind,
    id: selfLink.replace(API_BASE, ''),
    // proto3-JSON leaves empty repeated fields out, as GCE does.
    ...nonEmpty('items', page.items),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    selfLink,
  };
}

/** An `aggregatedList` answer: every zone's scope, with its items on this page or a NO_RESULTS_ON_PAGE warning. */
export function aggregated(
  gce: GceEmulatorState,
  kind: string,
  selfLink: string,
  field: string,
  byZone: Map<string, Json[]>,
  query: URLSearchParams,
): Json {
  const filter = compileFilter(query.get('filter'));
  const flat: { scope: string; item: Json }[] = [];
  for (const zone of gce.allZones) {
    for (const item of byZone.get(zone) ?? []) if (filter(item)) flat.push({ scope: `zones/${zone}`, item });
  }
  const page = paginate(gce, flat as unknown as Json[], query) as unknown as {
    items: { scope: string; item: Json }[];
    nextPageToken?: string;
  };
  const items: Record<string, Json> = {};
  for (const zone of gce.allZones) {
    const inZone = page.items.filter((entry) => entry.scope === `zones/${zone}`).map((entry) => entry.item);
    items[`zones/${zone}`] =
      inZone.length > 0
        ? { [field]: inZone }
        : {
            warning: {
              code: 'NO_RESULTS_ON_PAGE',
              message: `There are no results for scope 'zones/${zone}' on this page.`,
              data: [{ key: 'scope', value: `zones/${zone}` }],
            },
          };
  }
  return {
    kind,
    id: selfLink.replace(API_BASE, ''),
    items,
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    selfLink,
  };
}

/** `{ [field]: items }`, or nothing for no items: proto3-JSON leaves empty repeated fields out. */
export function nonEmpty<T>(field: string, items: T[] | undefined): Record<string, T[]> {
  return items && items.length > 0 ? { [field]: items } : {};
}

function paginate(
  gce: GceEmulatorState,
  items: Json[],
  query: URLSearchParams,
): { items: Json[]; nextPageToken?: string } {
  const max = query.has('maxResults') ? Number(query.get('maxResults')) : gce.pageSize;
  if (!Number.isInteger(max) || max < 0 || max > 500)
    throw badRequest(
      `Invalid value for field 'maxResults': '${query.get('maxResults')}'. Must be in the range [0, 500].`,
    );
  const start = query.has('pageToken') ? decodePageToken(query.get('pageToken')!) : 0;
  const size = max === 0 ? 500 : max;
  const page = items.slice(start, start + size);
  return start + size < items.length
    ? { items: page, nextPageToken: encodePageToken(start + size) }
    : { items: page };
}

function compileFilter(filter: string | null) {
  try {
    return parseFilter(filter ?? undefined);
  } catch (error) {
    if (error instanceof FilterSyntaxError)
      throw badRequest(`Invalid value for field 'filter': '${filter}'. ${error.message}`);
    throw error;
  }
}

function encodePageToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodePageToken(token: string): number {
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!match) throw badRequest(`Invalid value for field 'pageToken': '${token}'.`);
  return Number(match[1]);
}
