// PUBLISH between nodes: the node a client published on sends the message once to each
// linked peer, which delivers it to its own subscribers and never forwards it (links are
// a full mesh, so forwarding would only duplicate). Best effort: nothing is persisted,
// acknowledged or retransmitted; a peer whose link is down misses the message.
import { isBytes, isObject, KEY_BYTES_MAX, VALUE_BYTES_MAX } from './validate.js';

/** Channels are names, like keys: the same bound keeps a publish frame within PEER_FRAME_BYTES_MAX. */
export const PUBLISH_CHANNEL_BYTES_MAX = KEY_BYTES_MAX;
/** A message is bounded like a value (proto-max-bulk-len). */
export const PUBLISH_MESSAGE_BYTES_MAX = VALUE_BYTES_MAX;

export type PubSubMessage =
  /** A client published `message` on `channel` on the sender: deliver locally, do not forward. */
  { readonly type: 'publish'; readonly channel: Uint8Array; readonly message: Uint8Array };

/** Structural check with bounds of a decoded pub/sub message. Never throws. */
export function isPubSubMessage(value: unknown): value is PubSubMessage {
  return (
    isObject(value) &&
    value.type === 'publish' &&
    isBytes(value.channel, PUBLISH_CHANNEL_BYTES_MAX) &&
    isBytes(value.message, PUBLISH_MESSAGE_BYTES_MAX)
  );
}
