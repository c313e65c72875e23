/**
 * The mutations as Lua scripts. Answers travel as strings formatted with %d:
 * Lua's tostring would write a large counter as 9.007e+15, and ioredis's integer
 * reply parser rounds 2^53-1 up (measured), so neither may touch the number. Each runs atomically inside Redis: the
 * idempotency check, the mutation and the stored answer happen together or not
 * at all, so two instances racing on one key still apply it once. ioredis sends
 * them with EVALSHA (and falls back to EVAL after a Redis restart empties its
 * script cache). KEYS[2], when present, is the idempotency record.
 *
 * Each returns {replayed, answer}: replayed = 1 with the stored record
 * ("<fingerprint>|<answer>") as answer, or 0 with the new answer. The counter
 * script returns replayed = 2 when the increment would leave the safe integer range.
 *
 * A replay writes its record again (same value, same TTL): WAIT only waits for
 * the writes of its own connection, and the record may have been written on
 * another instance's, so durable mode's WAIT after a replay covers it only
 * through this write, which follows it in the replication stream.
 */

/**
 * Every script's start: a repeat of a key already applied answers from its
 * record (rewritten, see above) and changes nothing.
 */
const REPLAY = `
if #KEYS == 2 then
  local record = redis.call('GET', KEYS[2])
  if record then
    redis.call('SET', KEYS[2], record, 'KEEPTTL')
    return {1, record}
  end
end`

/** Every script's end: the new number (a Lua expression) formatted once, kept as the key's record when there is one, and answered. */
const answerWith = (number: string) => `
local answer = string.format('%d', ${number})
if #KEYS == 2 then
  redis.call('SET', KEYS[2], ARGV[2] .. '|' .. answer, 'EX', ARGV[3])
end
return {0, answer}`

/** ARGV: value JSON, fingerprint, record TTL (s). Answer: the new version. */
export const KV_SET = `${REPLAY}
local version = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[1], 'v', ARGV[1])${answerWith('version')}
`

/** ARGV: by, fingerprint, record TTL (s), limit. Answer: the counter's new value. */
export const COUNTER_INCR = `${REPLAY}
local by = tonumber(ARGV[1])
local limit = tonumber(ARGV[4])
local next = tonumber(redis.call('GET', KEYS[1]) or '0') + by
if next > limit or next < -limit then return {2, 0} end
local value = redis.call('INCRBY', KEYS[1], ARGV[1])${answerWith('value')}
`
