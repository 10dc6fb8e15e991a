import { describe, expect, it } from 'vitest';
import { addressRefusal, checkedAddress, OutboundRefused, pinnedLookup } from './outbound-address.js';

describe('the outbound address rule', () => {
  it.each([
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['10.0.0.1', /private/],
    ['172.16.4.4', /private/],
    ['192.168.1.10', /private/],
    ['169.254.169.254', /link-local/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['0.0.0.0', /unspecified/],
    ['255.255.255.255', /broadcast/],
    ['224.0.0.1', /multicast/],
    ['240.0.0.1', /reserved/],
    ['192.0.2.1', /reserved/],
    ['198.18.0.1', /reserved/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['fc00::1', /unique local/],
    ['fd12:3456::1', /unique local/],
    ['ff02::1', /multicast/],
    ['2001:db8::1', /reserved/],
    // IPv4-mapped: judged as the IPv4 address.
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:10.0.0.1', /private/],
    ['::ffff:a9fe:a9fe', /link-local/],
    // IPv4-compatible (deprecated) and other space outside 2000::/3.
    ['::10.0.0.1', /not a global unicast/],
    ['4000::1', /not a global unicast/],
    // 6to4, Teredo (client address inverted) and NAT64 carrying a private IPv4 address.
    ['2002:0a00:0001::1', /carries 10\.0\.0\.1.*private/],
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', /carries 10\.0\.0\.1.*private/],
    ['64:ff9b::7f00:1', /carries 127\.0\.0\.1.*loopback/],
    ['64:ff9b:1::1', /special-purpose/],
    ['not-an-address', /not an IP address/],
    ['127.1', /not an IP address/],
  ])('refuses %s', (address, why) => {
    expect(addressRefusal(address)).toMatch(why);
  });

  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:0808:0808::1', '64:ff9b::808:808'])('allows the public address %s', (address) => {
    expect(addressRefusal(address)).toBeNull();
  });

  it("refuses the portal's own addresses, however they are written", () => {
    const own = new Set(['93.184.216.34', '2606:4700:4700:0:0:0:0:1111']);
    expect(addressRefusal('93.184.216.34', own)).toMatch(/the portal itself/);
    expect(addressRefusal('2606:4700:4700::1111', own)).toMatch(/the portal itself/);
    expect(addressRefusal('::ffff:93.184.216.34', own)).toMatch(/the portal itself/);
    expect(addressRefusal('8.8.8.8', own)).toBeNull();
  });
});

describe('checkedAddress', () => {
  const resolver = (map: Record<string, string[]>) => (host: string) => Promise.resolve((map[host] ?? []).map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) })));
  const none = () => new Set<string>();

  it('refuses a name when any of its addresses is refused, and answers the first address otherwise', async () => {
    const resolve = resolver({ 'evil.example': ['93.184.216.34', '10.0.0.1'], 'good.example': ['93.184.216.34', '2606:4700:4700::1111'] });
    await expect(checkedAddress('evil.example', { allowPrivate: false, resolve, own: none })).rejects.toThrow(/evil\.example resolves to an address that may not be reached \(.*private/);
    await expect(checkedAddress('evil.example', { allowPrivate: false, resolve, own: none })).rejects.toBeInstanceOf(OutboundRefused);
    await expect(checkedAddress('good.example', { allowPrivate: false, resolve, own: none })).resolves.toEqual({ address: '93.184.216.34', family: 4 });
    await expect(checkedAddress('nowhere.example', { allowPrivate: false, resolve, own: none })).rejects.toThrow(/no address/);
  });

  it('checks IP literals without resolving them, bracketed IPv6 included', async () => {
    const resolve = () => Promise.reject(new Error('must not resolve a literal'));
    await expect(checkedAddress('[::1]', { allowPrivate: false, resolve, own: none })).rejects.toThrow(/::1 is a loopback address/);
    await expect(checkedAddress('169.254.169.254', { allowPrivate: false, resolve, own: none })).rejects.toThrow(/link-local/);
    await expect(checkedAddress('[2606:4700:4700::1111]', { allowPrivate: false, resolve, own: none })).resolves.toEqual({ address: '2606:4700:4700::1111', family: 6 });
  });

  it('lifts the rule with allowPrivate, still answering the resolved address to pin', async () => {
    const resolve = resolver({ 'nas.lan': ['192.168.1.5'] });
    await expect(checkedAddress('nas.lan', { allowPrivate: true, resolve, own: none })).resolves.toEqual({ address: '192.168.1.5', family: 4 });
  });

  it('pins every lookup to the checked address', () => {
    const lookup = pinnedLookup({ address: '93.184.216.34', family: 4 });
    const seen: unknown[] = [];
    lookup('anything.example', { all: true }, (_err, address) => seen.push(address));
    lookup('anything.example', {}, (_err, address, family) => seen.push([address, family]));
    expect(seen).toEqual([[{ address: '93.184.216.34', family: 4 }], ['93.184.216.34', 4]]);
  });
});
