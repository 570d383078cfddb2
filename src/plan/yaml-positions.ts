import { parseEvents, getScalarValue, EVENT_ID, type Event } from 'js-yaml';

/**
 * Maps JSON-pointer-like paths ("/scale/min") of a YAML document to the source offset of the key
 * (or, for the root and sequence items, of the value), so that validation errors can name a line.
 */
export function yamlPathOffsets(source: string): Map<string, number> {
  const offsets = new Map<string, number>();
  let events: Event[];
  try {
    events = parseEvents(source, {});
  } catch {
    return offsets;
  }
  type Frame = { kind: 'map' | 'seq'; path: string; nextIndex: number; pendingKey?: string };
  const stack: Frame[] = [];

  const childPath = (frame: Frame | undefined): string | undefined => {
    if (!frame) return '';
    if (frame.kind === 'seq') return `${frame.path}/${frame.nextIndex++}`;
    if (frame.pendingKey === undefined) return undefined;
    const path = `${frame.path}/${frame.pendingKey}`;
    frame.pendingKey = undefined;
    return path;
  };

  for (const event of events) {
    const top = stack[stack.length - 1];
    switch (event.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        if (top?.kind === 'map' && top.pendingKey === undefined) {
          top.pendingKey = '?'; // complex key: not addressable
        }
        const path = childPath(top) ?? '';
        if (!offsets.has(path)) offsets.set(path, event.start);
        stack.push({ kind: event.type === EVENT_ID.MAPPING ? 'map' : 'seq', path, nextIndex: 0 });
        break;
      }
      case EVENT_ID.SCALAR: {
        if (top?.kind === 'map' && top.pendingKey === undefined) {
          top.pendingKey = escapePointer(getScalarValue(source, event));
          offsets.set(`${top.path}/${top.pendingKey}`, event.valueStart);
        } else {
          const path = childPath(top);
          if (path !== undefined && !offsets.has(path)) offsets.set(path, event.valueStart);
        }
        break;
      }
      case EVENT_ID.ALIAS:
        childPath(top);
        break;
      case EVENT_ID.POP:
        stack.pop();
        break;
      default:
        break;
    }
  }
  return offsets;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** 1-based line and column of an offset. */
export function lineAndColumn(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
