/** Builds the EC2 query protocol's XML responses. */

export type XmlValue = string | number | boolean | Date | undefined | null | XmlNode | XmlList;

/** An element with child elements, in order. */
export interface XmlNode {
  readonly kind: 'node';
  readonly children: readonly (readonly [string, XmlValue])[];
}

/** A `…Set` list: each entry becomes an `<item>`. */
export interface XmlList {
  readonly kind: 'list';
  readonly items: readonly XmlValue[];
}

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export function node(fields: Record<string, XmlValue>): XmlNode {
  return { kind: 'node', children: Object.entries(fields) };
}

export function list(items: readonly XmlValue[]): XmlList {
  return { kind: 'list', items };
}

/** A tag set as EC2 writes it: `<tagSet><item><key/><value/></item></tagSet>`. */
export function tagSet(tags: Readonly<Record<string, string>>): XmlList {
  return list(Object.entries(tags).map(([key, value]) => node({ key, value })));
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

function render(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object') {
    const inner =
      value.kind === 'list'
        ? value.items.map((item) => render('item', item)).join('')
        : value.children.map(([child, childValue]) => render(child, childValue)).join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<ActionResponse xmlns=…><requestId>…</requestId>…members…</ActionResponse>` */
export function responseXml(action: string, requestId: string, members: Record<string, XmlValue>): string {
  const body = Object.entries(members)
    .map(([name, value]) => render(name, value))
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}">` +
    `<requestId>${requestId}</requestId>${body}</${action}Response>`
  );
}

/** The error body EC2 sends with a 4xx/5xx status. */
export function errorXml(code: string, message: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
  );
}
