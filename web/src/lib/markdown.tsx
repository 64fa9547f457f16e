// Markdown for model answers, rendered to Preact elements — never to an HTML string — so nothing a model
// writes can become markup or script: raw HTML shows as text, links keep only http(s) and mailto URLs.
// A small subset is enough for chat answers: headings, paragraphs, fenced code, lists, quotes, inline code,
// bold, italic and links. It re-renders cheaply while an answer streams in.
import type { ComponentChildren, JSX } from 'preact';

const SAFE_URL = /^(https?:|mailto:)/i;

function inline(text: string, key = 0): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  // code, bold, italic, link: the earliest match wins, the rest is plain text.
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)/;
  let rest = text;
  let k = key;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    if (m.index > 0) out.push(rest.slice(0, m.index));
    const [all, code, b1, b2, i1, i2, label, href] = m;
    if (code !== undefined) out.push(<code key={k++}>{code}</code>);
    else if (b1 !== undefined || b2 !== undefined) out.push(<strong key={k++}>{inline(b1 ?? b2 ?? '', k)}</strong>);
    else if (i1 !== undefined || i2 !== undefined) out.push(<em key={k++}>{inline(i1 ?? i2 ?? '', k)}</em>);
    else if (label !== undefined && href !== undefined) {
      out.push(
        SAFE_URL.test(href) ? (
          <a key={k++} href={href} rel="noopener noreferrer nofollow" target="_blank">
            {inline(label, k)}
          </a>
        ) : (
          all
        ),
      );
    }
    rest = rest.slice(m.index + all.length);
  }
  if (rest) out.push(rest);
  return out;
}

export function Markdown({ text }: { text: string }): JSX.Element {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: JSX.Element[] = [];
  let i = 0;
  let key = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const fence = /^```\s*([\w+-]*)/.exec(line);
    if (fence) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !/^```/.test(lines[i] ?? '')) code.push(lines[i++] ?? '');
      i++; // the closing fence (or the end of a streaming answer)
      blocks.push(
        <pre key={key++}>
          <code data-lang={fence[1] || undefined}>{code.join('\n')}</code>
        </pre>,
      );
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = Math.min(6, (heading[1] ?? '#').length + 2);
      const Tag = `h${level}` as 'h3';
      blocks.push(<Tag key={key++}>{inline(heading[2] ?? '')}</Tag>);
      i++;
      continue;
    }
    if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items: string[] = [];
      while (i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i] ?? '')) {
        items.push((lines[i] ?? '').replace(/^\s*([-*+]|\d+[.)])\s+/, ''));
        i++;
      }
      const children = items.map((t, n) => <li key={n}>{inline(t)}</li>);
      blocks.push(ordered ? <ol key={key++}>{children}</ol> : <ul key={key++}>{children}</ul>);
      continue;
    }
    if (/^>\s?/.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && /^>\s?/.test(lines[i] ?? '')) quoted.push((lines[i++] ?? '').replace(/^>\s?/, ''));
      blocks.push(<blockquote key={key++}>{inline(quoted.join(' '))}</blockquote>);
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const para: string[] = [];
    while (
      i < lines.length &&
      (lines[i] ?? '').trim() !== '' &&
      !/^(```|#{1,6}\s|>|\s*([-*+]|\d+[.)])\s)/.test(lines[i] ?? '')
    ) {
      para.push(lines[i++] ?? '');
    }
    blocks.push(<p key={key++}>{inline(para.join('\n'))}</p>);
  }
  return <div class="md">{blocks}</div>;
}
