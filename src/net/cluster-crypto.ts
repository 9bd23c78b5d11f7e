// Cryptography for the cluster key (DESIGN.md section 5): key derivation, the link
// handshake MAC, per-frame AES-256-GCM sealing of peer links, and the sealer of discovery
// datagrams. Everything is node:crypto; nothing here is hand-rolled cryptography.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DatagramSealer } from '../wire/discovery-codec.js';

export const AES_KEY_BYTES = 32;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
/** Random nonce each side of a link contributes; 128 bits makes a repeat negligible. */
export const LINK_NONCE_BYTES = 16;
export const MAC_BYTES = 32;

// Distinct salts/infos keep the derived keys of different purposes independent, so a MAC
// key can never be confused with an encryption key even though they share one secret.
const KDF_SALT = Buffer.from('peerkv cluster key v1');
const INFO_LINK_AUTH = 'peerkv link auth';
const INFO_LINK_SEAL = 'peerkv link seal';
const INFO_DISCOVERY = 'peerkv discovery seal';

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, AES_KEY_BYTES));
}

/** Keys derived once from one configured cluster key. */
export interface ClusterKeyMaterial {
  /** Root secret of the cluster key (HKDF-extracted), input to per-link keys. */
  readonly root: Buffer;
  /** HMAC-SHA256 key for handshake proofs. */
  readonly linkAuthKey: Buffer;
  /** AES-256-GCM key for discovery datagrams. */
  readonly discoveryKey: Buffer;
}

export function deriveClusterKeyMaterial(clusterKey: string): ClusterKeyMaterial {
  const root = hkdf(Buffer.from(clusterKey, 'utf8'), KDF_SALT, 'peerkv root');
  return {
    root,
    linkAuthKey: hkdf(root, KDF_SALT, INFO_LINK_AUTH),
    discoveryKey: hkdf(root, KDF_SALT, INFO_DISCOVERY),
  };
}

export function randomNonce(byteCount: number = LINK_NONCE_BYTES): Buffer {
  return randomBytes(byteCount);
}

/** Which end of a link: the dialer (opened the TCP connection) or the acceptor. */
export type LinkRole = 'dialer' | 'acceptor';

/**
 * Handshake proof: HMAC over both raw hello payloads (which carry both nonces and both
 * hellos) and the sender's role, so a proof can be neither replayed on another link nor
 * reflected back to its sender.
 */
export function handshakeMac(material: ClusterKeyMaterial, dialerHello: Uint8Array, acceptorHello: Uint8Array, role: LinkRole): Buffer {
  const mac = createHmac('sha256', material.linkAuthKey);
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32BE(dialerHello.length, 0);
  lengths.writeUInt32BE(acceptorHello.length, 4);
  mac.update(lengths).update(dialerHello).update(acceptorHello).update(role);
  return mac.digest();
}

/** The first key whose proof matches, or null. Constant time per comparison. */
export function verifyHandshakeMac(
  materials: readonly ClusterKeyMaterial[],
  dialerHello: Uint8Array,
  acceptorHello: Uint8Array,
  role: LinkRole,
  mac: Uint8Array,
): ClusterKeyMaterial | null {
  if (mac.length !== MAC_BYTES) return null;
  for (const material of materials) {
    if (timingSafeEqual(handshakeMac(material, dialerHello, acceptorHello, role), mac)) return material;
  }
  return null;
}

/** Key that seals every frame of one link: fresh per link because both nonces are fresh. */
export function linkSealKey(material: ClusterKeyMaterial, dialerNonce: Uint8Array, acceptorNonce: Uint8Array): Buffer {
  return hkdf(material.root, Buffer.concat([dialerNonce, acceptorNonce]), INFO_LINK_SEAL);
}

/**
 * One direction of a sealed link. The GCM nonce is the direction byte and a frame counter,
 * both implied rather than sent: a replayed, dropped or reordered frame fails to open.
 */
export class FrameSealer {
  private counter = 0;
  constructor(
    private readonly key: Buffer,
    private readonly direction: number,
  ) {}

  seal(plaintext: Uint8Array): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.key, frameNonce(this.direction, this.counter++));
    return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }
}

export class FrameOpener {
  private counter = 0;
  constructor(
    private readonly key: Buffer,
    private readonly direction: number,
  ) {}

  /** The plaintext, or null when the frame is forged, replayed or out of order. */
  open(sealed: Uint8Array): Buffer | null {
    if (sealed.length < GCM_TAG_BYTES) return null;
    const decipher = createDecipheriv('aes-256-gcm', this.key, frameNonce(this.direction, this.counter));
    decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
    try {
      const plaintext = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES)), decipher.final()]);
      this.counter++;
      return plaintext;
    } catch {
      return null;
    }
  }
}

/** Direction byte of frames sent by the dialer; the acceptor's frames use the other one. */
export const DIRECTION_FROM_DIALER = 0;
export const DIRECTION_FROM_ACCEPTOR = 1;

function frameNonce(direction: number, counter: number): Buffer {
  // 2^53 frames per link is unreachable; the assertion guards the nonce-uniqueness invariant.
  if (!Number.isSafeInteger(counter)) throw new Error('link frame counter exhausted');
  const nonce = Buffer.alloc(GCM_NONCE_BYTES);
  nonce[0] = direction;
  nonce.writeUInt32BE(Math.floor(counter / 2 ** 32), 4);
  nonce.writeUInt32BE(counter >>> 0, 8);
  return nonce;
}

/**
 * Seals discovery datagrams with the first key and opens with any (rotation). Each
 * datagram gets a random 96-bit nonce, carried in the datagram.
 */
export function discoverySealer(materials: readonly ClusterKeyMaterial[]): DatagramSealer {
  if (materials.length === 0) throw new Error('discoverySealer needs at least one cluster key');
  return {
    seal(plaintext: Uint8Array, associatedData: Uint8Array): Uint8Array {
      const nonce = randomBytes(GCM_NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', materials[0]!.discoveryKey, nonce);
      cipher.setAAD(associatedData);
      return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    },
    open(sealed: Uint8Array, associatedData: Uint8Array): Uint8Array | null {
      if (sealed.length < GCM_NONCE_BYTES + GCM_TAG_BYTES) return null;
      const nonce = sealed.subarray(0, GCM_NONCE_BYTES);
      const body = sealed.subarray(GCM_NONCE_BYTES, sealed.length - GCM_TAG_BYTES);
      const tag = sealed.subarray(sealed.length - GCM_TAG_BYTES);
      for (const material of materials) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', material.discoveryKey, nonce);
          decipher.setAAD(associatedData);
          decipher.setAuthTag(tag);
          return Buffer.concat([decipher.update(body), decipher.final()]);
        } catch {
          // Not this key; try the next one (rotation), then give up.
        }
      }
      return null;
    },
  };
}
