import { describe, expect, it } from 'vitest';
import { checkResolvedHost } from './dns';
import { blockedAddress, checkWebhookUrl, parseIPv4, parseIPv6 } from './ssrf';

const PRODUCTION = { allowLoopback: false };
const LOCAL = { allowLoopback: true };

// Every spelling of an address inside a network that a URL can carry. Refused in every environment.
const REFUSED_EVERYWHERE = [
  // private, CGNAT, this-network, link-local and the cloud metadata address
  'https://10.0.0.1/hook',
  'https://10.255.255.255/',
  'https://172.16.0.1/',
  'https://172.31.255.254/',
  'https://192.168.1.1/',
  'https://100.64.0.1/',
  'https://100.127.255.255/',
  'https://0.0.0.0/',
  'https://0.1.2.3/',
  'https://169.254.169.254/latest/meta-data/',
  'http://169.254.169.254/computeMetadata/v1/',
  'https://224.0.0.1/',
  'https://239.255.255.250/',
  'https://255.255.255.255/',
  'https://240.0.0.1/',
  'https://198.18.0.1/',
  // other spellings of them
  'https://0xa9fea9fe/', // 169.254.169.254 as one hex number
  'https://2852039166/', // 169.254.169.254 as one decimal number
  'https://0251.0376.0251.0376/', // octal
  'https://0xA9.0xFE.0xA9.0xFE/',
  'https://10.1/', // short form of 10.0.0.1
  'https://192.168.257/', // 192.168.1.1
  'https://%31%30.0.0.1/', // percent-encoded host
  'https://10.0.0.1./', // trailing dot
  // loopback written any way but the developer's canonical one
  'http://2130706433/',
  'https://2130706433/',
  'http://0177.0.0.1/',
  'http://0x7f.1/',
  'http://0x7f000001/',
  'http://127.1/',
  'http://127.0.1/',
  'http://127.0.0.2/',
  'http://127.255.255.254/',
  'http://127.0.0.1./',
  'http://%31%32%37.0.0.1/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:7f00:1]/',
  'http://[0:0:0:0:0:ffff:7f00:1]/',
  'http://[::127.0.0.1]/',
  'http://[0:0:0:0:0:0:0:1]/',
  'http://LOCALHOST./',
  'http://foo.localhost/',
  'https://a.b.localhost/',
  // IPv6 inside the network
  'https://[::]/',
  'https://[fe80::1]/',
  'https://[febf::1]/',
  'https://[fc00::1]/',
  'https://[fd12:3456:789a::1]/',
  'https://[ff02::1]/',
  'https://[::ffff:10.0.0.1]/',
  'https://[::ffff:a9fe:a9fe]/', // mapped metadata address
  'https://[64:ff9b::a9fe:a9fe]/', // NAT64 of it
  'https://[2002:a9fe:a9fe::1]/', // 6to4 of it
  'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', // Teredo
  'https://[2001:db8::1]/',
  // internal names
  'https://metadata.google.internal/computeMetadata/v1/',
  'https://metadata/',
  'https://intranet/',
  'https://printer.local/',
  'https://router.home.arpa/',
  'https://host.localdomain/',
  // userinfo tricks: the host is what follows the @
  'https://good.com@127.0.0.1/',
  'https://good.com@169.254.169.254/',
  'https://user:pass@example.com/',
  'https://example.com:443@10.0.0.1/',
  // not absolute https URLs, or with characters parsers drop or rewrite
  'ftp://example.com/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'https:example.com',
  'https:/example.com',
  'https://exa mple.com/',
  'https://example.com\\@127.0.0.1/',
  'https://127.0.0.1\t/',
  'https://example.com/\n',
  '//example.com/',
  'example.com',
  `https://example.com/${'a'.repeat(2100)}`,
];

const ALLOWED_EVERYWHERE = [
  'https://hooks.example.com/services/T0/B0/xyz',
  'https://api.example.com:8443/webhook?x=1#frag',
  'https://93.184.215.14/',
  'https://8.8.8.8/',
  'https://[2606:4700:4700::1111]/',
  'https://[::ffff:8.8.8.8]/',
  'https://EXAMPLE.com./hook',
  'https://xn--bcher-kva.example/',
];

describe('checkWebhookUrl', () => {
  it.each(REFUSED_EVERYWHERE)('refuses %s in production and in local development', (url) => {
    expect(checkWebhookUrl(url, PRODUCTION).ok).toBe(false);
    expect(checkWebhookUrl(url, LOCAL).ok).toBe(false);
  });

  it.each(ALLOWED_EVERYWHERE)('allows %s', (url) => {
    expect(checkWebhookUrl(url, PRODUCTION)).toMatchObject({ ok: true });
    expect(checkWebhookUrl(url, LOCAL)).toMatchObject({ ok: true });
  });

  it.each(['http://127.0.0.1:8787/hook', 'https://127.0.0.1/', 'http://localhost:3000/x', 'http://[::1]:9000/'])(
    'allows the canonical loopback %s only in local development',
    (url) => {
      expect(checkWebhookUrl(url, LOCAL)).toMatchObject({ ok: true });
      expect(checkWebhookUrl(url, PRODUCTION).ok).toBe(false);
    },
  );

  it('refuses plain http to a public host everywhere', () => {
    for (const policy of [PRODUCTION, LOCAL]) {
      const verdict = checkWebhookUrl('http://hooks.example.com/x', policy);
      expect(verdict).toEqual({ ok: false, reason: expect.stringContaining('https') });
    }
  });

  it('gives the normalized URL it checked', () => {
    const verdict = checkWebhookUrl('https://Hooks.Example.com:443/a', PRODUCTION);
    expect(verdict.ok && verdict.url.toString()).toBe('https://hooks.example.com/a');
  });
});

describe('address parsing', () => {
  it.each([
    ['127.0.0.1', [127, 0, 0, 1]],
    ['2130706433', [127, 0, 0, 1]],
    ['0177.0.0.1', [127, 0, 0, 1]],
    ['0x7f.1', [127, 0, 0, 1]],
    ['127.1', [127, 0, 0, 1]],
    ['10.1.2', [10, 1, 0, 2]],
    ['0xa9fea9fe', [169, 254, 169, 254]],
  ])('parseIPv4(%s)', (text, bytes) => {
    expect(parseIPv4(text)).toEqual(bytes);
  });

  it.each(['256.1.1.1', '1.2.3.4.5', '4294967296', 'example.com', '08.1.1.1', '1..1'])(
    'parseIPv4(%s) is not an address',
    (text) => {
      expect(parseIPv4(text)).toBeNull();
    },
  );

  it.each([
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['[::ffff:127.0.0.1]', [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ['::ffff:7f00:1', [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ['fe80::1:2', [0xfe80, 0, 0, 0, 0, 0, 1, 2]],
    ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
  ])('parseIPv6(%s)', (text, groups) => {
    expect(parseIPv6(text)).toEqual(groups);
  });

  it.each(['1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', 'g::1', '::ffff:1.2.3.256'])(
    'parseIPv6(%s) is not an address',
    (text) => {
      expect(parseIPv6(text)).toBeNull();
    },
  );

  it('judges DNS answers like URL hosts', () => {
    expect(blockedAddress('10.0.0.1')).toBe('private');
    expect(blockedAddress('::ffff:169.254.169.254')).toContain('link-local');
    expect(blockedAddress('93.184.215.14')).toBeNull();
    expect(blockedAddress('2606:4700::1')).toBeNull();
    expect(blockedAddress('nonsense')).toBe('not an IP address');
  });
});

describe('checkResolvedHost (DNS-over-HTTPS, with a fake resolver)', () => {
  const resolver = (answers: Record<string, string[]>, status = 200): typeof fetch =>
    (async (input: RequestInfo | URL) => {
      const url = new URL(String(input));
      const type = url.searchParams.get('type') === 'A' ? 1 : 28;
      const data = (answers[url.searchParams.get('type') ?? ''] ?? []).map((d) => ({ type, data: d }));
      return new Response(JSON.stringify({ Status: 0, Answer: [{ type: 5, data: 'cname.example.' }, ...data] }), {
        status,
      });
    }) as typeof fetch;

  it('allows a name whose every address is public', async () => {
    expect(await checkResolvedHost(resolver({ A: ['93.184.215.14'] }), 'https://doh', 'ok.example')).toEqual({
      ok: true,
    });
  });

  it('refuses a name with any non-public address (A or AAAA)', async () => {
    const a = await checkResolvedHost(resolver({ A: ['93.184.215.14', '127.0.0.1'] }), 'https://doh', 'x.example');
    expect(a).toMatchObject({ ok: false, refused: true });
    const aaaa = await checkResolvedHost(resolver({ A: ['8.8.8.8'], AAAA: ['fd00::1'] }), 'https://doh', 'x.example');
    expect(aaaa).toMatchObject({ ok: false, refused: true });
  });

  it('treats a resolver failure or no address as a failed attempt, not a refusal', async () => {
    expect(await checkResolvedHost(resolver({}, 500), 'https://doh', 'x.example')).toMatchObject({
      ok: false,
      refused: false,
    });
    expect(await checkResolvedHost(resolver({}), 'https://doh', 'x.example')).toMatchObject({
      ok: false,
      refused: false,
    });
  });
});
