// Geo commands (Redis 7.0 replies and errors) on sorted-set rows: a geo key IS a sorted
// set whose scores are 52-bit geohashes (geo-hash.ts), so TYPE says zset and every zset
// command works on it. GEOADD is ZADD with the score computed (NX/XX judged on the local
// view, as ZADD); searches read the score ranges of up to nine geohash cells through the
// score index (zset-order.ts) and filter by distance, in Redis's order.
import { Buffer } from 'node:buffer';
import { KeyType } from '../core/rows.js';
import { appendArrayHeader, appendBulk, appendBulkText, appendError, appendInteger, appendNull, appendNullArray, type RespOutput, type RespVersion } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, SYNTAX_ERROR, argIs, command } from './common.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { parseInteger64 } from '../core/counters.js';
import {
  cellScoreRange,
  decodeScore,
  distanceInShape,
  geoDistance,
  geohashText,
  GEO_LATITUDE_MAX,
  GEO_LATITUDE_MIN,
  GEO_LONGITUDE_MAX,
  GEO_LONGITUDE_MIN,
  humanNumber,
  pointScore,
  searchCells,
  type GeoCell,
  type GeoShape,
} from './geo-hash.js';
import { headerOfType, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import { zsetOrder, type ZsetOrder } from './zset-order.js';
import { memberScore, NOT_FLOAT_ERROR, parseScore, scoreText, storeZset } from './zset-rows.js';
import { zaddCommand } from './zsets.js';

const UNIT_ERROR = 'ERR unsupported unit provided. please use M, KM, FT, MI';
const MEMBER_ERROR = 'ERR could not decode requested zset member';
/** Entries read per page while scanning a cell's score range. */
const CELL_PAGE_ENTRIES = 128;

/** Meters per unit, undefined for an unknown unit. */
function unitMeters(arg: Uint8Array): number | undefined {
  if (argIs(arg, 'm')) return 1;
  if (argIs(arg, 'km')) return 1000;
  if (argIs(arg, 'ft')) return 0.3048;
  if (argIs(arg, 'mi')) return 1609.34;
  return undefined;
}

/** A double argument (Redis's getDoubleFromObject: NaN refused). */
function parseDouble(arg: Uint8Array): number | undefined {
  return parseScore(arg);
}

/** Longitude and latitude arguments, or an error text. */
function parsePoint(longitudeArg: Uint8Array, latitudeArg: Uint8Array): [number, number] | string {
  const longitude = parseDouble(longitudeArg);
  const latitude = parseDouble(latitudeArg);
  if (longitude === undefined || latitude === undefined) return NOT_FLOAT_ERROR;
  if (longitude < GEO_LONGITUDE_MIN || longitude > GEO_LONGITUDE_MAX || latitude < GEO_LATITUDE_MIN || latitude > GEO_LATITUDE_MAX) {
    return `ERR invalid longitude,latitude pair ${longitude.toFixed(6)},${latitude.toFixed(6)}`;
  }
  return [longitude, latitude];
}

/** GEOADD key [NX|XX] [CH] longitude latitude member ...: ZADD of the points' scores. */
function geoaddCommand(session: CommandContext, args: Buffer[]): void {
  let xx = false;
  let nx = false;
  let first = 2;
  for (; first < args.length; first++) {
    const arg = args[first]!;
    if (argIs(arg, 'nx')) nx = true;
    else if (argIs(arg, 'xx')) xx = true;
    else if (!argIs(arg, 'ch')) break;
  }
  if ((args.length - first) % 3 !== 0 || (xx && nx)) return void appendError(session.out, SYNTAX_ERROR);
  const zaddArgs: Buffer[] = args.slice(0, first);
  for (let index = first; index < args.length; index += 3) {
    const point = parsePoint(args[index]!, args[index + 1]!);
    if (typeof point === 'string') return void appendError(session.out, point);
    zaddArgs.push(Buffer.from(scoreText(pointScore(point[0], point[1]))), args[index + 2]!);
  }
  zaddCommand(session, zaddArgs);
}

/** A distance reply: %.4f, as Redis. */
function appendDistance(out: RespOutput, meters: number): void {
  appendBulkText(out, meters.toFixed(4));
}

/** A coordinate in Redis's human long double text: a bulk string in RESP2, a double in RESP3. */
function appendCoordinate(out: RespOutput, value: number, version: RespVersion): void {
  if (version === 2) return void appendBulkText(out, humanNumber(value));
  out.ascii(`,${humanNumber(value)}`);
  out.crlf();
}

/** The sorted set at key for a geo read: undefined when absent, or an error text. */
function geoSet(session: CommandContext, key: Uint8Array): boolean | string {
  const header = headerOfType(session.engine, key, KeyType.ZSet);
  if (header === WRONG_TYPE) return WRONGTYPE_ERROR;
  return header !== undefined;
}

/** GEOHASH key [member ...] */
function geohashCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const exists = geoSet(session, args[1]!);
  if (typeof exists === 'string') return void appendError(out, exists);
  appendArrayHeader(out, args.length - 2);
  for (let index = 2; index < args.length; index++) {
    const score = exists ? memberScore(session.engine, args[1]!, args[index]!) : undefined;
    if (score === undefined) appendNull(out, session.protocol);
    else appendBulkText(out, geohashText(score));
  }
}

/** GEOPOS key [member ...] */
function geoposCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const exists = geoSet(session, args[1]!);
  if (typeof exists === 'string') return void appendError(out, exists);
  appendArrayHeader(out, args.length - 2);
  for (let index = 2; index < args.length; index++) {
    const score = exists ? memberScore(session.engine, args[1]!, args[index]!) : undefined;
    if (score === undefined) {
      appendNullArray(out, session.protocol);
      continue;
    }
    const [longitude, latitude] = decodeScore(score);
    appendArrayHeader(out, 2);
    appendCoordinate(out, longitude, session.protocol);
    appendCoordinate(out, latitude, session.protocol);
  }
}

/** GEODIST key member1 member2 [M|KM|FT|MI] */
function geodistCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  let meters = 1;
  if (args.length === 5) {
    const unit = unitMeters(args[4]!);
    if (unit === undefined) return void appendError(out, UNIT_ERROR);
    meters = unit;
  } else if (args.length > 5) {
    return void appendError(out, SYNTAX_ERROR);
  }
  const key = args[1]!;
  const exists = geoSet(session, key);
  if (typeof exists === 'string') return void appendError(out, exists);
  if (!exists) return void appendNull(out, session.protocol);
  const score1 = memberScore(session.engine, key, args[2]!);
  const score2 = memberScore(session.engine, key, args[3]!);
  if (score1 === undefined || score2 === undefined) return void appendNull(out, session.protocol);
  const [longitude1, latitude1] = decodeScore(score1);
  const [longitude2, latitude2] = decodeScore(score2);
  appendDistance(out, geoDistance(longitude1, latitude1, longitude2, latitude2) / meters);
}

// ---- GEORADIUS GEORADIUSBYMEMBER (+_RO) GEOSEARCH GEOSEARCHSTORE ----

const enum SearchFlag {
  Coordinates = 1,
  Member = 2,
  NoStore = 4,
  Search = 8,
  SearchStore = 16,
}

interface GeoPoint {
  readonly member: Uint8Array;
  readonly score: number;
  readonly longitude: number;
  readonly latitude: number;
  /** Meters from the centre. */
  readonly distance: number;
}

/** The members of the cells' score ranges inside the shape, in Redis's scan order; stops at `limit` (0: none). */
function pointsInShape(order: ZsetOrder, shape: GeoShape, cells: readonly (GeoCell | undefined)[], limit: number): GeoPoint[] {
  const points: GeoPoint[] = [];
  let last: GeoCell | undefined;
  let lastIndex = 0;
  for (let index = 0; index < cells.length; index++) {
    const cell = cells[index];
    if (cell === undefined) continue;
    // Huge radii make neighbours repeat: skip a cell equal to the one just scanned (Redis's check, index 0 excepted).
    if (lastIndex !== 0 && last !== undefined && cell.latitudeBits === last.latitudeBits && cell.longitudeBits === last.longitudeBits) continue;
    if (limit !== 0 && points.length >= limit) break;
    const [min, max] = cellScoreRange(cell);
    let rank = order.countBefore((score) => score < min);
    scan: for (;;) {
      const page = order.range(rank, CELL_PAGE_ENTRIES, false);
      for (const entry of page) {
        if (entry.score >= max) break scan;
        const [longitude, latitude] = decodeScore(entry.score);
        const distance = distanceInShape(shape, longitude, latitude);
        if (distance !== undefined) points.push({ member: entry.member, score: entry.score, longitude, latitude, distance });
        if (limit !== 0 && points.length >= limit) break scan;
      }
      if (page.length < CELL_PAGE_ENTRIES) break;
      rank += page.length;
    }
    last = cell;
    lastIndex = index;
  }
  return points;
}

interface SearchOptions {
  withDistance: boolean;
  withHash: boolean;
  withCoordinates: boolean;
  any: boolean;
  sort: 'none' | 'asc' | 'desc';
  count: number;
  storeKey: Uint8Array | undefined;
  storeDistance: boolean;
}

/** The shared search of the georadius family and geosearch (Redis's georadiusGeneric). */
function searchVariant(sourceIndex: number, flags: number) {
  return (session: CommandContext, args: Buffer[]): void => {
    const out = session.out;
    const engine = session.engine;
    const key = args[sourceIndex]!;
    const existing = headerOfType(engine, key, KeyType.ZSet);
    if (existing === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
    const exists = existing !== undefined;
    let baseArgs: number;
    let centre: [number, number] | undefined;
    let radius: { radius: number; unitMeters: number } | undefined;
    let box: { width: number; height: number; unitMeters: number } | undefined;
    const options: SearchOptions = { withDistance: false, withHash: false, withCoordinates: false, any: false, sort: 'none', count: 0, storeKey: undefined, storeDistance: false };
    if (flags & SearchFlag.Coordinates) {
      baseArgs = 6;
      const point = parsePoint(args[2]!, args[3]!);
      if (typeof point === 'string') return void appendError(out, point);
      centre = point;
      const parsed = parseRadius(args[4]!, args[5]!);
      if (typeof parsed === 'string') return void appendError(out, parsed);
      radius = parsed;
    } else if (flags & SearchFlag.Member) {
      baseArgs = 5;
      if (exists) {
        const score = memberScore(engine, key, args[2]!);
        if (score === undefined) return void appendError(out, MEMBER_ERROR);
        centre = decodeScore(score);
        const parsed = parseRadius(args[3]!, args[4]!);
        if (typeof parsed === 'string') return void appendError(out, parsed);
        radius = parsed;
      }
    } else {
      baseArgs = flags & SearchFlag.SearchStore ? 3 : 2;
      if (flags & SearchFlag.SearchStore) options.storeKey = args[1]!;
    }
    const search = (flags & SearchFlag.Search) !== 0;
    let fromMember = false;
    let fromPoint = false;
    const remaining = args.length - baseArgs;
    for (let offset = 0; offset < remaining; offset++) {
      const arg = args[baseArgs + offset]!;
      const next = (ahead: number) => args[baseArgs + offset + ahead]!;
      if (argIs(arg, 'withdist')) options.withDistance = true;
      else if (argIs(arg, 'withhash')) options.withHash = true;
      else if (argIs(arg, 'withcoord')) options.withCoordinates = true;
      else if (argIs(arg, 'any')) options.any = true;
      else if (argIs(arg, 'asc')) options.sort = 'asc';
      else if (argIs(arg, 'desc')) options.sort = 'desc';
      else if (argIs(arg, 'count') && offset + 1 < remaining) {
        const count = parseInteger64(next(1));
        if (count === undefined) return void appendError(out, NOT_INTEGER_ERROR);
        if (count <= 0n) return void appendError(out, 'ERR COUNT must be > 0');
        options.count = count > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(count);
        offset++;
      } else if ((argIs(arg, 'store') || argIs(arg, 'storedist')) && offset + 1 < remaining && !(flags & SearchFlag.NoStore) && !search) {
        options.storeKey = next(1);
        options.storeDistance = argIs(arg, 'storedist');
        offset++;
      } else if (argIs(arg, 'storedist') && search && flags & SearchFlag.SearchStore) {
        options.storeDistance = true;
      } else if (argIs(arg, 'frommember') && offset + 1 < remaining && search && !fromPoint) {
        fromMember = true;
        if (exists) {
          const score = memberScore(engine, key, next(1));
          if (score === undefined) return void appendError(out, MEMBER_ERROR);
          centre = decodeScore(score);
        }
        offset++;
      } else if (argIs(arg, 'fromlonlat') && offset + 2 < remaining && search && !fromMember) {
        const point = parsePoint(next(1), next(2));
        if (typeof point === 'string') return void appendError(out, point);
        centre = point;
        fromPoint = true;
        offset += 2;
      } else if (argIs(arg, 'byradius') && offset + 2 < remaining && search && box === undefined) {
        const parsed = parseRadius(next(1), next(2));
        if (typeof parsed === 'string') return void appendError(out, parsed);
        radius = parsed;
        offset += 2;
      } else if (argIs(arg, 'bybox') && offset + 3 < remaining && search && radius === undefined) {
        const parsed = parseBox(next(1), next(2), next(3));
        if (typeof parsed === 'string') return void appendError(out, parsed);
        box = parsed;
        offset += 3;
      } else {
        return void appendError(out, SYNTAX_ERROR);
      }
    }
    const name = args[0]!.toString('latin1');
    if (options.storeKey !== undefined && (options.withDistance || options.withHash || options.withCoordinates)) {
      const what = flags & SearchFlag.SearchStore ? 'GEOSEARCHSTORE' : 'STORE option in GEORADIUS';
      return void appendError(out, `ERR ${what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`);
    }
    if (search && !fromMember && !fromPoint) return void appendError(out, `ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ${name}`);
    if (search && radius === undefined && box === undefined) return void appendError(out, `ERR exactly one of BYRADIUS and BYBOX can be specified for ${name}`);
    if (options.any && options.count === 0) return void appendError(out, 'ERR the ANY argument requires COUNT argument');
    if (!exists || centre === undefined) {
      if (options.storeKey !== undefined) return storeZset(session, options.storeKey, []);
      return void appendArrayHeader(out, 0);
    }
    if (options.count !== 0 && options.sort === 'none' && !options.any) options.sort = 'asc';
    const shape: GeoShape =
      box !== undefined
        ? { kind: 'box', longitude: centre[0], latitude: centre[1], ...box }
        : { kind: 'radius', longitude: centre[0], latitude: centre[1], ...radius! };
    const points = pointsInShape(zsetOrder(engine, key), shape, searchCells(shape), options.any ? options.count : 0);
    if (options.sort === 'asc') points.sort((a, b) => a.distance - b.distance);
    else if (options.sort === 'desc') points.sort((a, b) => b.distance - a.distance);
    const returned = options.count === 0 ? points : points.slice(0, options.count);
    if (options.storeKey !== undefined) {
      const entries = returned.map((point) => ({ member: point.member, score: options.storeDistance ? point.distance / shape.unitMeters : point.score }));
      entries.sort((a, b) => a.score - b.score || Buffer.compare(a.member, b.member));
      return storeZset(session, options.storeKey, entries);
    }
    replyPoints(session, returned, options, shape.unitMeters);
  };
}

function replyPoints(session: CommandContext, points: readonly GeoPoint[], options: SearchOptions, unitMeters: number): void {
  const out = session.out;
  const extras = (options.withDistance ? 1 : 0) + (options.withHash ? 1 : 0) + (options.withCoordinates ? 1 : 0);
  appendArrayHeader(out, points.length);
  for (const point of points) {
    if (extras > 0) appendArrayHeader(out, extras + 1);
    appendBulk(out, point.member);
    if (options.withDistance) appendDistance(out, point.distance / unitMeters);
    if (options.withHash) appendInteger(out, point.score);
    if (options.withCoordinates) {
      appendArrayHeader(out, 2);
      appendCoordinate(out, point.longitude, session.protocol);
      appendCoordinate(out, point.latitude, session.protocol);
    }
  }
}

function parseRadius(radiusArg: Uint8Array, unitArg: Uint8Array): { radius: number; unitMeters: number } | string {
  const radius = parseDouble(radiusArg);
  if (radius === undefined) return 'ERR need numeric radius';
  if (radius < 0) return 'ERR radius cannot be negative';
  const meters = unitMeters(unitArg);
  if (meters === undefined) return UNIT_ERROR;
  return { radius, unitMeters: meters };
}

function parseBox(widthArg: Uint8Array, heightArg: Uint8Array, unitArg: Uint8Array): { width: number; height: number; unitMeters: number } | string {
  const width = parseDouble(widthArg);
  if (width === undefined) return 'ERR need numeric width';
  const height = parseDouble(heightArg);
  if (height === undefined) return 'ERR need numeric height';
  if (width < 0 || height < 0) return 'ERR height or width cannot be negative';
  const meters = unitMeters(unitArg);
  if (meters === undefined) return UNIT_ERROR;
  return { width, height, unitMeters: meters };
}

const { Write, ReadOnly } = CommandFlag;

export const GEO_COMMANDS: readonly CommandSpec[] = [
  command('geoadd', -5, Write, [1, 1, 1], 'geo', 'Add points to a geospatial index (a sorted set)', geoaddCommand),
  command('geohash', -2, ReadOnly, [1, 1, 1], 'geo', 'Standard geohash strings of members', geohashCommand),
  command('geopos', -2, ReadOnly, [1, 1, 1], 'geo', 'Longitude and latitude of members', geoposCommand),
  command('geodist', -4, ReadOnly, [1, 1, 1], 'geo', 'Distance between two members', geodistCommand),
  command('georadius', -6, Write, [1, 1, 1], 'geo', 'Members within a radius of a point (STORE/STOREDIST)', searchVariant(1, SearchFlag.Coordinates)),
  command('georadius_ro', -6, ReadOnly, [1, 1, 1], 'geo', 'Members within a radius of a point', searchVariant(1, SearchFlag.Coordinates | SearchFlag.NoStore)),
  command('georadiusbymember', -5, Write, [1, 1, 1], 'geo', 'Members within a radius of a member (STORE/STOREDIST)', searchVariant(1, SearchFlag.Member)),
  command('georadiusbymember_ro', -5, ReadOnly, [1, 1, 1], 'geo', 'Members within a radius of a member', searchVariant(1, SearchFlag.Member | SearchFlag.NoStore)),
  command('geosearch', -7, ReadOnly, [1, 1, 1], 'geo', 'Members within a radius or box', searchVariant(1, SearchFlag.Search)),
  command('geosearchstore', -8, Write, [1, 2, 1], 'geo', 'Store the members within a radius or box', searchVariant(2, SearchFlag.Search | SearchFlag.SearchStore)),
];
