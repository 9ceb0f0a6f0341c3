// ANSI escape sequences in job logs: SGR colours (30–37, 90–97, bold, reset) become styled segments; every other
// escape (cursor moves, OSC titles, 256/true-colour parameters we do not render) is dropped, never shown raw.

export interface Segment {
  text: string;
  /** A CSS colour, or null for the default. */
  color: string | null;
  bold: boolean;
}

// Readable on Deep Black; the brand colours for red/green/cyan.
const BASIC = ['#4b5266', '#ff3b30', '#00ff88', '#ffcc00', '#4d9fff', '#d670ff', '#00d9ff', '#e6e8ee'];
const BRIGHT = ['#8e94a3', '#ff6961', '#5cffb0', '#ffe066', '#80bbff', '#e39cff', '#66e8ff', '#ffffff'];

// CSI … final byte, OSC … BEL/ST, and lone two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001b\[([0-9;?]*)([@-~])|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]/g;

export function parseAnsi(line: string): Segment[] {
  const segments: Segment[] = [];
  let color: string | null = null;
  let bold = false;
  let last = 0;
  const push = (text: string) => {
    if (!text) return;
    const prev = segments[segments.length - 1];
    if (prev && prev.color === color && prev.bold === bold) prev.text += text;
    else segments.push({ text, color, bold });
  };
  for (const match of line.matchAll(ESCAPE)) {
    push(line.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[2] !== 'm') continue;
    const codes = (match[1] ?? '').split(';').map((c) => (c === '' ? 0 : Number(c)));
    for (let i = 0; i < codes.length; i += 1) {
      const code = codes[i] ?? 0;
      if (code === 0) {
        color = null;
        bold = false;
      } else if (code === 1) bold = true;
      else if (code === 22) bold = false;
      else if (code >= 30 && code <= 37) color = BASIC[code - 30] ?? null;
      else if (code >= 90 && code <= 97) color = BRIGHT[code - 90] ?? null;
      else if (code === 39) color = null;
      else if (code === 38 || code === 48) {
        // 38;5;n or 38;2;r;g;b: skip the parameters (not rendered).
        i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 0;
      }
    }
  }
  push(line.slice(last));
  return segments;
}

export function stripAnsi(line: string): string {
  return line.replace(ESCAPE, '');
}
