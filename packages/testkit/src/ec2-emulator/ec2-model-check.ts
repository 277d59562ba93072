/**
 * Test support: checks an EC2 query-protocol XML response against the model shipped in
 * `@aws-sdk/client-ec2` — the operation's output schema (members, lists, scalar types) and, for
 * string members the model types as an enum, the enum's values. Not exported from the package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

type Schema = number | 'unit' | readonly unknown[] | (() => Schema);

interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const require = createRequire(import.meta.url);
const sdk = require('@aws-sdk/client-ec2') as Record<string, unknown>;

/** `Struct.Member` → the enum type the model's TypeScript declarations give it. */
const enumMembers = (() => {
  const models = join(dirname(require.resolve('@aws-sdk/client-ec2')), '..', 'dist-types', 'models');
  const map = new Map<string, string>();
  for (const file of readdirSync(models).filter((name) => /^models_\d+\.d\.ts$/.test(name))) {
    let current = '';
    for (const line of readFileSync(join(models, file), 'utf8').split('\n')) {
      const open = /^export interface (\w+) \{/.exec(line);
      if (open) current = open[1]!;
      const member = /^\s+(\w+)\?: (\w+) \| undefined;/.exec(line);
      if (current && member && typeof sdk[member[2]!] === 'object' && sdk[member[2]!] !== null)
        map.set(`${current}.${member[1]}`, member[2]!);
    }
  }
  return map;
})();

function resolve(schema: Schema): Schema {
  return typeof schema === 'function' ? resolve(schema()) : schema;
}

/** A minimal XML reader for the emulator's own output (elements and text; no attributes but xmlns). */
export function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '#root', children: [], text: '' };
  const stack = [root];
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
  const tokens = body.match(/<\/?[A-Za-z][^>]*>|[^<]+/g) ?? [];
  for (const token of tokens) {
    if (token.startsWith('</')) {
      stack.pop();
    } else if (token.startsWith('<')) {
      const element: XmlElement = { name: /^<([A-Za-z][\w.-]*)/.exec(token)![1]!, children: [], text: '' };
      stack.at(-1)!.children.push(element);
      if (!token.endsWith('/>')) stack.push(element);
    } else {
      stack.at(-1)!.text += token
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, '&');
    }
  }
  return root.children[0]!;
}

/** Every way `xml` (a response to `action`) departs from the model; empty when it conforms. */
export function modelViolations(action: string, xml: string): string[] {
  const operation = sdk[`${action}$`] as readonly unknown[] | undefined;
  if (!operation) return [`the model has no operation ${action}`];
  const root = parseXml(xml);
  if (root.name !== `${action}Response`) return [`root element ${root.name}, expected ${action}Response`];
  const problems: string[] = [];
  const members = root.children.filter((child) => child.name !== 'requestId');
  const output = resolve(operation[5] as Schema);
  if (output === 'unit') {
    for (const member of members) problems.push(`${action}.${member.name}: the model's output is empty`);
    return problems;
  }
  checkStruct(resolve(operation[5] as Schema) as readonly unknown[], members, action, problems);
  return problems;
}

function checkStruct(
  schema: readonly unknown[],
  elements: XmlElement[],
  path: string,
  problems: string[],
): void {
  const structName = schema[2] as string;
  const names = schema[4] as readonly string[];
  const memberSchemas = schema[5] as readonly unknown[];
  const byXmlName = new Map<string, { name: string; schema: Schema }>();
  names.forEach((name, index) => {
    const member = memberSchemas[index];
    const [memberSchema, traits]: [Schema, Record<string, string>] = Array.isArray(member)
      ? (member as [Schema, Record<string, string>])
      : [member as Schema, {}];
    byXmlName.set(traits.xmlName ?? name, { name, schema: memberSchema });
  });
  for (const element of elements) {
    const member = byXmlName.get(element.name);
    const where = `${path}.${element.name}`;
    if (!member) {
      problems.push(`${where}: ${structName} has no member ${element.name}`);
      continue;
    }
    checkValue(resolve(member.schema), element, where, problems, `${structName}.${member.name}`);
  }
}

function checkValue(
  schema: Schema,
  element: XmlElement,
  where: string,
  problems: string[],
  memberKey: string,
): void {
  if (typeof schema === 'number') {
    if (schema & 64) {
      for (const item of element.children) {
        if (item.name !== 'item') problems.push(`${where}: list entry <${item.name}>, expected <item>`);
        checkValue(schema & 63, item, `${where}.item`, problems, memberKey);
      }
      return;
    }
    checkScalar(schema, element, where, problems, memberKey);
    return;
  }
  const kind = (schema as readonly unknown[])[0];
  if (kind === 3) {
    checkStruct(schema as readonly unknown[], element.children, where, problems);
  } else if (kind === 1) {
    const item = (schema as readonly unknown[])[4];
    const [itemSchema] =
      Array.isArray(item) && item.length === 2 && typeof item[1] === 'object' && !Array.isArray(item[1])
        ? (item as [Schema])
        : [item as Schema];
    for (const child of element.children) {
      if (child.name !== 'item') problems.push(`${where}: list entry <${child.name}>, expected <item>`);
      checkValue(resolve(itemSchema), child, `${where}.item`, problems, memberKey);
    }
  } else if (kind === 0) {
    // A simple schema wrapping a scalar type: [0, ns, name, traits, type].
    checkValue((schema as readonly unknown[])[4] as Schema, element, where, problems, memberKey);
  } else {
    problems.push(`${where}: schema kind ${String(kind)} not understood by the checker`);
  }
}

function checkScalar(
  type: number,
  element: XmlElement,
  where: string,
  problems: string[],
  memberKey: string,
): void {
  if (element.children.length > 0) {
    problems.push(`${where}: expected a value, got elements`);
    return;
  }
  const text = element.text;
  if (type === 1 && !/^-?\d+(\.\d+)?$/.test(text)) problems.push(`${where}: "${text}" is not a number`);
  if (type === 2 && text !== 'true' && text !== 'false')
    problems.push(`${where}: "${text}" is not a boolean`);
  if (type === 4 && Number.isNaN(Date.parse(text))) problems.push(`${where}: "${text}" is not a timestamp`);
  if (type === 0) {
    const enumName = enumMembers.get(memberKey);
    if (enumName) {
      const values = Object.values(sdk[enumName] as Record<string, string>);
      if (!values.includes(text))
        problems.push(`${where}: "${text}" is not a ${enumName} (${values.join(', ')})`);
    }
  }
}
