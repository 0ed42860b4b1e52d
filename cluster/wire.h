/* Wire format of the messages droverd multicasts in its CPG group, and of the state file.
 *
 * Every message: a 32-byte header, little-endian,
 *   u32 magic 'DRV1' | u16 version | u16 type | u32 total length | u32 crc32 (of the whole
 *   message with this field zeroed) | u64 round | u64 reserved (0)
 * then a type-specific body. Strings are u16 length + bytes (valid UTF-8, no NUL, at most
 * DRV_WIRE_MAX_STR bytes); domain XML is u32 length + bytes (at most DRV_WIRE_MAX_XML). The decoder checks every length against the buffer, rejects
 * trailing bytes, unknown types, other versions and anything over DRV_WIRE_MAX_MSG, and
 * never changes anything on failure. See docs/replication.md.
 */
#ifndef DRV_WIRE_H
#define DRV_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drv_cluster.h"
#include "drv_state.h"

#define DRV_WIRE_MAGIC 0x31565244u /* "DRV1" */
#define DRV_WIRE_VERSION 3
#define DRV_WIRE_HDR_LEN 32
#define DRV_WIRE_MAX_MSG (1024 * 1024)
#define DRV_WIRE_MAX_STR 1024
#define DRV_WIRE_MAX_ENTRIES 16384
#define DRV_WIRE_MAX_XML (256 * 1024) /* a domain XML (u32 length) */

typedef enum drv_msg_type {
    DRV_MSG_SUMMARY = 1, /* sync: my epoch and seq for this round */
    DRV_MSG_CLOSE = 2,   /* sync: stop waiting for silent members */
    DRV_MSG_STATE = 3,   /* sync: the winner's full state */
    DRV_MSG_QUORUM = 4,  /* leader: this round is (not) quorate */
    DRV_MSG_CMD = 5,     /* a change to the state */
    DRV_MSG_APPLIED = 6, /* I have applied everything up to seq (confirms commands) */
} drv_msg_type_t;

/* A decoded message. Strings and the state point into storage owned by the struct; release
 * with drv_msg_clear(). */
typedef struct drv_msg {
    drv_msg_type_t type;
    uint64_t round;
    uint64_t epoch, seq;  /* SUMMARY; APPLIED: seq */
    bool quorate;         /* QUORUM */
    uint64_t req_id;      /* CMD */
    drv_cmd_type_t cmd_type;
    bool cmd_flag;
    char *cmd_name;       /* CMD (owned) */
    char *cmd_value;      /* CMD (owned; "" when absent) */
    char *cmd_value2;     /* CMD (owned; "" when absent) */
    uint8_t cmd_obs;
    uint64_t cmd_ts;
    uint64_t cmd_gen;
    drv_resource_t *cmd_res; /* CMD RES_ADD (owned) */
    drv_fence_dev_t *cmd_dev; /* CMD FENCE_DEV_ADD (owned) */
    drv_state_t *state;   /* STATE (owned) */
} drv_msg_t;

/* Encoders return a g_malloc'd buffer and its length in *LEN. */
uint8_t *drv_wire_summary(uint64_t round, uint64_t epoch, uint64_t seq, size_t *len);
uint8_t *drv_wire_close(uint64_t round, size_t *len);
uint8_t *drv_wire_state(uint64_t round, const drv_state_t *st, size_t *len);
uint8_t *drv_wire_quorum(uint64_t round, bool quorate, size_t *len);
uint8_t *drv_wire_applied(uint64_t round, uint64_t seq, size_t *len);
uint8_t *drv_wire_cmd(uint64_t round, uint64_t req_id, const drv_cmd_t *cmd, size_t *len);
/* A copy of the encoded message MSG with its round replaced (and the checksum redone). */
uint8_t *drv_wire_reround(const uint8_t *msg, size_t len, uint64_t round);

/* 0, or DRV_ERR_BAD_MESSAGE with a static reason in *WHY. On failure *MSG is left cleared. */
int drv_wire_decode(const void *buf, size_t len, drv_msg_t *msg, const char **why);
void drv_msg_clear(drv_msg_t *msg);

/* Validation shared by the encoder's callers and the decoder. */
bool drv_cmd_valid(const drv_cmd_t *cmd, const char **why);
bool drv_resource_def_valid(const drv_resource_t *r, const char **why);

uint32_t drv_crc32(const void *buf, size_t len);

/* Encoded sizes, for the state-size limit checked when a command is applied. */
size_t drv_wire_state_size(const drv_state_t *st);
size_t drv_wire_resource_size(const drv_resource_t *r);

/* The round identifier of a membership: SORTED by (nodeid, pid). Never 0. */
uint64_t drv_wire_round_id(const drv_member_t *sorted, size_t n);

#endif
