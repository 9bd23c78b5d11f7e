// Proves the geo commands through RESP give Redis 7.0.15's replies (scores, distances, coordinates, search order and STORE) on a key that is a sorted set, and that the geohash math round-trips (fast-check).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { decodeScore, geoDistance, pointScore } from '../../src/server/geo-hash.js';

let server: RespServer;
let redis: Redis;

before(async () => {
  ({ server } = await startMemoryServer({ engine: new MemoryEngine() }));
  redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await redis.geoadd('nyc', -73.9454966, 40.747533, 'lic market', -73.9733487, 40.7648057, 'central park n/q/r', -73.9903085, 40.7362513, 'union square', -74.0131604, 40.7126674, 'wtc one', -73.7858139, 40.6428986, 'jfk', -73.9375699, 40.7498929, 'q4', -73.9564142, 40.7480973, '4545');
});

after(async () => {
  redis.disconnect();
  await server.close();
});

// Expected replies below were taken from redis-server 7.0.15.
test('a geo key is a sorted set of Redis geohash scores', async () => {
  assert.equal(await redis.type('nyc'), 'zset');
  assert.deepEqual(await redis.call('zrange', 'nyc', 0, 1, 'WITHSCORES'), ['wtc one', '1791873972053020', 'union square', '1791875485187452']);
  assert.equal(await redis.call('geoadd', 'nyc', 'CH', 'XX', -73.9454966, 40.747533, 'lic market'), 0);
  assert.equal(await redis.call('geoadd', 'nyc', 'NX', -70, 40, 'lic market'), 0);
  await assert.rejects(redis.call('geoadd', 'nyc', 'XX', 'NX', 1, 1, 'x'), /ERR syntax error/);
  await assert.rejects(redis.call('geoadd', 'nyc', 200, 100, 'x'), /ERR invalid longitude,latitude pair 200.000000,100.000000/);
});

test('GEOPOS GEOHASH GEODIST', async () => {
  assert.deepEqual(await redis.call('geopos', 'nyc', 'wtc one', 'nope'), [['-74.01316255331039429', '40.71266718145121644'], null]);
  assert.deepEqual(await redis.geohash('nyc', 'wtc one', 'nope'), ['dr5reg922r0', null]);
  assert.equal(await redis.call('geodist', 'nyc', 'wtc one', 'jfk', 'km'), '20.6880');
  assert.equal(await redis.geodist('nyc', 'wtc one', 'nope'), null);
  assert.equal(await redis.geodist('nokey', 'a', 'b'), null);
});

test('GEORADIUS GEOSEARCH: sorted, WITHDIST, COUNT ANY in scan order', async () => {
  assert.deepEqual(await redis.call('georadius', 'nyc', -73.9798091, 40.7598464, 3, 'km', 'WITHDIST', 'ASC'), [
    ['central park n/q/r', '0.7750'], ['4545', '2.3651'], ['union square', '2.7697'],
  ]);
  assert.deepEqual(await redis.call('georadius', 'nyc', -73.9798091, 40.7598464, 10, 'km', 'COUNT', 3, 'ANY'), ['wtc one', 'union square', 'central park n/q/r']);
  assert.deepEqual(await redis.call('geosearch', 'nyc', 'FROMLONLAT', -73.9798091, 40.7598464, 'BYBOX', 6, 6, 'km', 'ASC'), ['central park n/q/r', '4545', 'union square', 'lic market']);
  assert.deepEqual(await redis.call('geosearch', 'nyc', 'FROMMEMBER', 'wtc one', 'BYBOX', 14, 14, 'km'), ['wtc one', 'union square', 'central park n/q/r', '4545', 'lic market', 'q4']);
  assert.deepEqual(await redis.call('georadiusbymember', 'nyc', 'wtc one', 7, 'km', 'WITHHASH', 'COUNT', 1), [['wtc one', 1791873972053020]]);
  await assert.rejects(redis.call('geosearch', 'nyc', 'BYBOX', 3, 3, 'km', 'ASC'), /exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch/);
  await assert.rejects(redis.call('geosearch', 'nyc', 'FROMLONLAT', 0, 0, 'ASC', 'WITHDIST'), /exactly one of BYRADIUS and BYBOX can be specified for geosearch/);
  await assert.rejects(redis.call('georadius', 'nyc', 0, 0, 10, 'km', 'ANY'), /the ANY argument requires COUNT argument/);
  await assert.rejects(redis.georadiusbymember('nyc', 'nope', 10, 'km'), /could not decode requested zset member/);
});

test('STORE and STOREDIST write a sorted set; an empty result deletes the destination', async () => {
  assert.equal(await redis.call('georadius', 'nyc', -73.9798091, 40.7598464, 3, 'km', 'STORE', 'stored'), 3);
  assert.deepEqual(await redis.call('zrange', 'stored', 0, -1), ['union square', 'central park n/q/r', '4545']);
  assert.equal(await redis.call('geosearchstore', 'dist', 'nyc', 'FROMLONLAT', -73.9798091, 40.7598464, 'BYRADIUS', 3, 'km', 'STOREDIST'), 3);
  assert.deepEqual(await redis.call('zrange', 'dist', 0, 0, 'WITHSCORES'), ['central park n/q/r', '0.77501636173928778']);
  assert.equal(await redis.call('geosearchstore', 'dist', 'nyc', 'FROMLONLAT', 0, 0, 'BYRADIUS', 1, 'km'), 0);
  assert.equal(await redis.exists('dist'), 0);
  await assert.rejects(redis.call('georadius_ro', 'nyc', 0, 0, 1, 'km', 'STORE', 'x'), /ERR syntax error/);
});

test('geohash math: a point decodes within a cell of where it was encoded', () => {
  // Regression (fast-check seed 282610835): the top of the longitude range encodes above 52 bits.
  const [edgeLongitude, edgeLatitude] = decodeScore(pointScore(179.99999999999997, 0));
  assert.equal(edgeLongitude, 180);
  assert.ok(Math.abs(edgeLatitude) < 1e-5);
  fc.assert(
    fc.property(fc.double({ min: -180, max: 180, noNaN: true }), fc.double({ min: -85.05112878, max: 85.05112878, noNaN: true }), (longitude, latitude) => {
      const [decodedLongitude, decodedLatitude] = decodeScore(pointScore(longitude, latitude));
      assert.ok(geoDistance(longitude, latitude, decodedLongitude, decodedLatitude) < 1, `${longitude},${latitude}`);
    }),
  );
});
