// The relay policy (dist/relay-policy.js) on its own: addresses parsed and classified (IPv4,
// IPv6, IPv4 inside IPv6), destinations and allowlist entries parsed, every resolved address
// checked, password checks, limits counted. No sockets.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addressKind, canonicalAddress, destination, ipVersion, parseTarget, RelayFailure, RelayPolicy } from '../dist/relay-policy.js';

const t = suite('relay-policy');

t('addresses: parsed, written canonically, and classified', () => {
  for (const [input, canonical] of [
    ['127.0.0.1', '127.0.0.1'], ['::1', '::1'], ['0:0:0:0:0:0:0:1', '::1'], ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'], ['::ffff:7f00:1', '::ffff:127.0.0.1'], ['fe80::1%eth0', 'fe80::1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['1::', '1::'], ['::', '::'],
  ]) assert.is(canonicalAddress(input), canonical, input);
  for (const bad of ['127.1', '256.0.0.1', '01.2.3.4', '1:2:3:4:5:6:7:8:9', '1::2::3', ':::', 'example.com', '12345::', '']) {
    assert.is(canonicalAddress(bad), undefined, bad);
    assert.is(ipVersion(bad), 0, bad);
  }
  for (const [a, kind] of [
    ['8.8.8.8', 'public'], ['127.0.0.1', 'loopback'], ['127.255.1.2', 'loopback'], ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'], ['172.32.0.1', 'public'], ['192.168.1.1', 'private'], ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'shared'], ['0.0.0.0', 'unspecified'], ['224.0.0.1', 'multicast'], ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'documentation'], ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'], ['::', 'unspecified'], ['::ffff:10.0.0.1', 'private'], ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::7f00:1', 'loopback'], ['2002:7f00:1::', 'loopback'], ['2002:808:808::1', 'public'],
    ['fc00::1', 'private'], ['fd12::1', 'private'], ['fe80::1', 'link-local'], ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'], ['2001::1', 'reserved'], ['2606:4700::1111', 'public'], ['4000::1', 'reserved'],
    ['not an address', 'reserved'],
  ]) assert.is(addressKind(a), kind, a);
});

t('destinations: names lowercase, addresses canonical, malformed ones refused', () => {
  assert.equal(destination('Example.COM', 443), { key: 'example.com:443', host: 'example.com', port: 443, ip: 0 });
  assert.equal(destination('[0::1]', 8443), { key: '[::1]:8443', host: '::1', port: 8443, ip: 6 });
  assert.equal(destination('::1', 1), { key: '[::1]:1', host: '::1', port: 1, ip: 6 });
  assert.equal(parseTarget('[::ffff:7f00:1]:443')?.key, '[::ffff:127.0.0.1]:443');
  for (const [host, port] of [['a..b', 443], ['-a', 443], ['a b', 443], ['a', 0], ['a', 65536], ['fe80::1%eth0', 1], ['[example.com]', 1], ['x'.repeat(300), 1]]) {
    assert.is(destination(host, port), undefined, `${host}:${port}`);
  }
  assert.is(parseTarget('localhost'), undefined);
  assert.is(parseTarget('localhost:99999'), undefined);
});

t('the allowlist: exact, *.suffix, * and port *; wildcards reach public addresses only', async () => {
  const policy = new RelayPolicy({ allow: ['db.internal:5432', '*.example.com:443', '*:8443', 'pub.test:*'] });
  const resolver = (map) => async (name) => {
    if (!map[name]) throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    return map[name];
  };
  const dns = resolver({ 'db.internal': ['10.0.0.5'], 'a.example.com': ['93.184.215.14'], 'b.example.com': ['10.0.0.1'], 'pub.test': ['2606:4700::1'] });
  const ok = async (host, port) => (await policy.resolve(destination(host, port), dns)).addresses;
  const refused = async (host, port) => {
    try {
      await policy.resolve(destination(host, port), dns);
    } catch (e) {
      assert.instance(e, RelayFailure);
      return [e.failure, e.message];
    }
    throw new Error(`${host}:${port} was allowed`);
  };
  assert.equal(await ok('db.internal', 5432), ['10.0.0.5'], 'an exact entry reaches a private address');
  assert.equal(await ok('A.Example.com', 443), ['93.184.215.14']);
  assert.equal(await refused('b.example.com', 443), ['blocked', 'target b.example.com:443 resolves to 10.0.0.1, a private address: not allowed']);
  assert.equal(await refused('example.com', 443), ['blocked', 'target example.com:443 is not allowed']);
  assert.equal(await refused('a.example.com', 444), ['blocked', 'target a.example.com:444 is not allowed']);
  assert.equal(await ok('pub.test', 1), ['2606:4700::1']);
  assert.equal(await ok('8.8.8.8', 8443), ['8.8.8.8']);
  assert.equal(await refused('10.0.0.1', 8443), ['blocked', 'target 10.0.0.1:8443 is a private address: not allowed']);
  assert.equal(await refused('nowhere.example.com', 443), ['unreachable', 'ENOTFOUND (nowhere.example.com:443)']);
  const open = new RelayPolicy({ allow: ['*:8443'], allowPrivate: true });
  assert.equal((await open.resolve(destination('10.0.0.1', 8443), dns)).addresses, ['10.0.0.1']);
});

t('passwords: a map compared by digest, or a function; limits counted per client and in total', async () => {
  const policy = new RelayPolicy({ allow: ['*:*'], passwords: { alice: 'pw' }, maxStreamsPerClient: 2, maxStreams: 3, maxWebSocketsPerClient: 1 });
  assert.ok(await policy.checkPassword('alice', 'pw'));
  assert.not.ok(await policy.checkPassword('alice', 'pW'));
  assert.not.ok(await policy.checkPassword('bob', 'pw'));
  assert.not.ok(await policy.checkPassword('constructor', ''));
  const fn = new RelayPolicy({ allow: ['*:*'], passwords: (u, p) => u === p });
  assert.ok(await fn.checkPassword('x', 'x'));
  assert.not.ok(await fn.checkPassword('x', 'y'));

  policy.openStream('a');
  policy.openStream('a');
  assert.throws(() => policy.openStream('a'), /too many connections from this client \(limit 2\)/);
  policy.openStream('b');
  assert.throws(() => policy.openStream('c'), /at its limit of 3 connections/);
  policy.closeStream('a');
  policy.openStream('c');
  assert.equal(policy.counts, { webSockets: 0, streams: 3 });
  assert.is(policy.openWebSocket('a'), undefined);
  assert.is(policy.openWebSocket('a'), 'too many WebSockets from this client (limit 1)');
  policy.closeWebSocket('a');
  assert.is(policy.openWebSocket('a'), undefined);
});

t.run();
