// The geohash math of Redis's geo commands (read from Redis's geohash.c and
// geohash_helper.c, written anew): a point is a 52-bit score interleaving 26 bits of
// latitude (even bits) and 26 of longitude (odd bits) over Web Mercator's latitude range
// (+-85.05112878), so a geohash box is one score range of the sorted set; a search covers
// its shape with a box and its 8 neighbours at a step chosen from the radius, and filters
// the members of those ranges by distance on the sphere.

export const GEO_LONGITUDE_MIN = -180;
export const GEO_LONGITUDE_MAX = 180;
export const GEO_LATITUDE_MIN = -85.05112878;
export const GEO_LATITUDE_MAX = 85.05112878;
/** Bits per coordinate of a stored score (26 + 26 = 52, exact in a double). */
export const GEO_STEP_MAX = 26;
const EARTH_RADIUS_M = 6372797.560856;
const MERCATOR_MAX = 20037726.37;
const DEGREES_TO_RADIANS = Math.PI / 180;

/** A geohash cell: `step` bits of each coordinate as integers. */
export interface GeoCell {
  readonly latitudeBits: number;
  readonly longitudeBits: number;
  readonly step: number;
}

export interface CoordinateRange {
  readonly min: number;
  readonly max: number;
}

const LONGITUDE_RANGE: CoordinateRange = { min: GEO_LONGITUDE_MIN, max: GEO_LONGITUDE_MAX };
const LATITUDE_RANGE: CoordinateRange = { min: GEO_LATITUDE_MIN, max: GEO_LATITUDE_MAX };

/** The cell of a point at `step` (truncating, as Redis's fixed-point conversion). */
export function encodeCell(longitude: number, latitude: number, step: number, longitudeRange = LONGITUDE_RANGE, latitudeRange = LATITUDE_RANGE): GeoCell {
  const latitudeOffset = ((latitude - latitudeRange.min) / (latitudeRange.max - latitudeRange.min)) * 2 ** step;
  const longitudeOffset = ((longitude - longitudeRange.min) / (longitudeRange.max - longitudeRange.min)) * 2 ** step;
  return { latitudeBits: Math.trunc(latitudeOffset) >>> 0, longitudeBits: Math.trunc(longitudeOffset) >>> 0, step };
}

/** Interleave a cell's bits: latitude bit i at 2i, longitude bit i at 2i+1 (exact up to 26 bits each). */
export function interleave(cell: GeoCell): number {
  let bits = 0;
  for (let bit = 0; bit < 32; bit++) {
    const weight = 2 ** (2 * bit);
    if ((cell.latitudeBits >>> bit) & 1) bits += weight;
    if ((cell.longitudeBits >>> bit) & 1) bits += weight * 2;
  }
  return bits;
}

/** The cell of `step` bits per coordinate whose interleaved bits are `bits`. */
export function deinterleave(bits: number, step: number): GeoCell {
  let latitudeBits = 0;
  let longitudeBits = 0;
  let rest = bits;
  for (let bit = 0; bit < step; bit++) {
    const pair = rest % 4;
    rest = Math.floor(rest / 4);
    if (pair & 1) latitudeBits += 2 ** bit;
    if (pair & 2) longitudeBits += 2 ** bit;
  }
  return { latitudeBits, longitudeBits, step };
}

/** A cell's interleaved bits shifted to 52 bits: the lowest score inside it. */
export function alignedScore(cell: GeoCell): number {
  return interleave(cell) * 2 ** (52 - cell.step * 2);
}

/** The score Redis stores for a point (GEOADD). */
export function pointScore(longitude: number, latitude: number): number {
  return alignedScore(encodeCell(longitude, latitude, GEO_STEP_MAX));
}

export interface GeoArea {
  readonly longitude: CoordinateRange;
  readonly latitude: CoordinateRange;
}

export function cellArea(cell: GeoCell): GeoArea {
  const cells = 2 ** cell.step;
  const latitudeScale = GEO_LATITUDE_MAX - GEO_LATITUDE_MIN;
  const longitudeScale = GEO_LONGITUDE_MAX - GEO_LONGITUDE_MIN;
  return {
    latitude: {
      min: GEO_LATITUDE_MIN + (cell.latitudeBits / cells) * latitudeScale,
      max: GEO_LATITUDE_MIN + ((cell.latitudeBits + 1) / cells) * latitudeScale,
    },
    longitude: {
      min: GEO_LONGITUDE_MIN + (cell.longitudeBits / cells) * longitudeScale,
      max: GEO_LONGITUDE_MIN + ((cell.longitudeBits + 1) / cells) * longitudeScale,
    },
  };
}

/** The point a stored score stands for: its 52-bit cell's centre, clamped to the valid ranges. */
export function decodeScore(score: number): [longitude: number, latitude: number] {
  // All 64 bits, as Redis: a coordinate at the very top of its range encodes as 2^26 and sets
  // a bit above the 52, which decodes past the range and is clamped back to its edge.
  const bits = score < 0 ? 0 : Math.min(Math.floor(score), 2 ** 64 - 1);
  const cell = deinterleave(bits, 32);
  const area = cellArea({ latitudeBits: cell.latitudeBits, longitudeBits: cell.longitudeBits, step: GEO_STEP_MAX });
  const longitude = Math.min(Math.max((area.longitude.min + area.longitude.max) / 2, GEO_LONGITUDE_MIN), GEO_LONGITUDE_MAX);
  const latitude = Math.min(Math.max((area.latitude.min + area.latitude.max) / 2, GEO_LATITUDE_MIN), GEO_LATITUDE_MAX);
  return [longitude, latitude];
}

const GEOHASH_ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz';

/** The standard 11-character geohash of a stored score (re-encoded over latitude +-90, the last character 0). */
export function geohashText(score: number): string {
  const [longitude, latitude] = decodeScore(score);
  const bits = interleave(encodeCell(longitude, latitude, GEO_STEP_MAX, LONGITUDE_RANGE, { min: -90, max: 90 }));
  let text = '';
  for (let index = 0; index < 10; index++) text += GEOHASH_ALPHABET[Math.floor(bits / 2 ** (52 - (index + 1) * 5)) % 32];
  return text + GEOHASH_ALPHABET[0];
}

function degreesToRadians(degrees: number): number {
  return degrees * DEGREES_TO_RADIANS;
}

function radiansToDegrees(radians: number): number {
  return radians / DEGREES_TO_RADIANS;
}

function latitudeDistance(latitude1: number, latitude2: number): number {
  return EARTH_RADIUS_M * Math.abs(degreesToRadians(latitude2) - degreesToRadians(latitude1));
}

/** Haversine distance in meters. */
export function geoDistance(longitude1: number, latitude1: number, longitude2: number, latitude2: number): number {
  const v = Math.sin((degreesToRadians(longitude2) - degreesToRadians(longitude1)) / 2);
  if (v === 0) return latitudeDistance(latitude1, latitude2);
  const latitude1Radians = degreesToRadians(latitude1);
  const latitude2Radians = degreesToRadians(latitude2);
  const u = Math.sin((latitude2Radians - latitude1Radians) / 2);
  const a = u * u + Math.cos(latitude1Radians) * Math.cos(latitude2Radians) * v * v;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(a));
}

/** A search shape: a circle (radius) or a box (width, height), in `unitMeters` units. */
export type GeoShape =
  | { readonly kind: 'radius'; readonly longitude: number; readonly latitude: number; readonly radius: number; readonly unitMeters: number }
  | { readonly kind: 'box'; readonly longitude: number; readonly latitude: number; readonly width: number; readonly height: number; readonly unitMeters: number };

/** The distance in meters from the shape's centre to a point inside it, undefined when outside. */
export function distanceInShape(shape: GeoShape, longitude: number, latitude: number): number | undefined {
  if (shape.kind === 'radius') {
    const distance = geoDistance(shape.longitude, shape.latitude, longitude, latitude);
    return distance > shape.radius * shape.unitMeters ? undefined : distance;
  }
  const widthMeters = shape.width * shape.unitMeters;
  const heightMeters = shape.height * shape.unitMeters;
  if (latitudeDistance(latitude, shape.latitude) > heightMeters / 2) return undefined;
  if (geoDistance(longitude, latitude, shape.longitude, latitude) > widthMeters / 2) return undefined;
  return geoDistance(shape.longitude, shape.latitude, longitude, latitude);
}

function estimateStep(rangeMeters: number, latitude: number): number {
  if (rangeMeters === 0) return 26;
  let step = 1;
  let range = rangeMeters;
  while (range < MERCATOR_MAX) {
    range *= 2;
    step++;
  }
  step -= 2;
  if (latitude > 66 || latitude < -66) {
    step--;
    if (latitude > 80 || latitude < -80) step--;
  }
  return Math.min(Math.max(step, 1), 26);
}

/** [minLongitude, minLatitude, maxLongitude, maxLatitude] around the shape. */
function boundingBox(shape: GeoShape): [number, number, number, number] {
  const halfHeight = shape.unitMeters * (shape.kind === 'radius' ? shape.radius : shape.height / 2);
  const halfWidth = shape.unitMeters * (shape.kind === 'radius' ? shape.radius : shape.width / 2);
  const latitudeDelta = radiansToDegrees(halfHeight / EARTH_RADIUS_M);
  const longitudeDeltaTop = radiansToDegrees(halfWidth / EARTH_RADIUS_M / Math.cos(degreesToRadians(shape.latitude + latitudeDelta)));
  const longitudeDeltaBottom = radiansToDegrees(halfWidth / EARTH_RADIUS_M / Math.cos(degreesToRadians(shape.latitude - latitudeDelta)));
  const southern = shape.latitude < 0;
  const longitudeDelta = southern ? longitudeDeltaBottom : longitudeDeltaTop;
  return [shape.longitude - longitudeDelta, shape.latitude - latitudeDelta, shape.longitude + longitudeDelta, shape.latitude + latitudeDelta];
}

/** Move a cell by whole cells, wrapping around as Redis's bit arithmetic does. */
function moveCell(cell: GeoCell, longitudeMove: number, latitudeMove: number): GeoCell {
  const cells = 2 ** cell.step;
  return {
    latitudeBits: (cell.latitudeBits + latitudeMove + cells) % cells,
    longitudeBits: (cell.longitudeBits + longitudeMove + cells) % cells,
    step: cell.step,
  };
}

/**
 * The cells to scan for a shape, in Redis's order (centre, N, S, E, W, NE, NW, SE, SW),
 * undefined for a neighbour that cannot hold a match.
 */
export function searchCells(shape: GeoShape): (GeoCell | undefined)[] {
  const [minLongitude, minLatitude, maxLongitude, maxLatitude] = boundingBox(shape);
  const radiusMeters =
    shape.kind === 'radius' ? shape.radius * shape.unitMeters : Math.sqrt((shape.width / 2) ** 2 + (shape.height / 2) ** 2) * shape.unitMeters;
  let step = estimateStep(radiusMeters, shape.latitude);
  let centre = encodeCell(shape.longitude, shape.latitude, step);
  const tooCoarse =
    cellArea(moveCell(centre, 0, 1)).latitude.max < maxLatitude ||
    cellArea(moveCell(centre, 0, -1)).latitude.min > minLatitude ||
    cellArea(moveCell(centre, 1, 0)).longitude.max < maxLongitude ||
    cellArea(moveCell(centre, -1, 0)).longitude.min > minLongitude;
  if (step > 1 && tooCoarse) {
    step--;
    centre = encodeCell(shape.longitude, shape.latitude, step);
  }
  const area = cellArea(centre);
  // [longitude move, latitude move] of N S E W NE NW SE SW
  const moves: [number, number][] = [[0, 1], [0, -1], [1, 0], [-1, 0], [1, 1], [-1, 1], [1, -1], [-1, -1]];
  return [
    centre,
    ...moves.map(([longitudeMove, latitudeMove]) => {
      if (step >= 2) {
        if (latitudeMove < 0 && area.latitude.min < minLatitude) return undefined;
        if (latitudeMove > 0 && area.latitude.max > maxLatitude) return undefined;
        if (longitudeMove < 0 && area.longitude.min < minLongitude) return undefined;
        if (longitudeMove > 0 && area.longitude.max > maxLongitude) return undefined;
      }
      return moveCell(centre, longitudeMove, latitudeMove);
    }),
  ];
}

/** The score range [min, max) of a cell's members. */
export function cellScoreRange(cell: GeoCell): [number, number] {
  const min = alignedScore(cell);
  return [min, min + 2 ** (52 - cell.step * 2)];
}

/** Redis's "human" long double text (%.17Lf without trailing zeros). */
export function humanNumber(value: number): string {
  const fixed = value.toFixed(17);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}
