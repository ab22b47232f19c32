-- Machine-data ingest (MQTT, OPC UA): the messages it could not use, and how each source fares.
create table ingest_dead_letters (
    dead_letter_id bigint generated always as identity primary key,
    source         text not null,
    topic          text not null,
    payload        text not null
        constraint dead_letter_payload_bounded check (length(payload) <= 4096),
    kind           text not null
        constraint dead_letter_kind check (kind in
            ('malformed_json', 'bad_topic', 'missing_field', 'invalid_field', 'unknown_sensor',
             'wrong_unit', 'out_of_range', 'no_timezone', 'future_time', 'unknown_machine',
             'too_large', 'rejected')),
    reason         text not null,
    received_at    timestamptz not null
);
comment on table ingest_dead_letters is
    'Machine messages the ingest could not use, kept with the reason (payload cut at 4096 characters).';
comment on constraint dead_letter_kind on ingest_dead_letters is
    'kind is one of malformed_json, bad_topic, missing_field, invalid_field, unknown_sensor, '
    'wrong_unit, out_of_range, no_timezone, future_time, unknown_machine, too_large, rejected';
create index ingest_dead_letters_received on ingest_dead_letters (received_at desc);
create index ingest_dead_letters_kind on ingest_dead_letters (kind, received_at desc);

-- One row per running (or last run) ingest, written by it every few seconds, so that another
-- process (`titan ingest status`, the service's /metrics) can read how it fares.
create table ingest_status (
    source        text primary key,
    protocol      text not null
        constraint ingest_protocol check (protocol in ('mqtt', 'opcua')),
    connection    text not null
        constraint ingest_connection check (connection in
            ('connecting', 'connected', 'disconnected', 'stopped')),
    started_at    timestamptz not null,
    updated_at    timestamptz not null,
    messages      bigint not null default 0,
    stored        bigint not null default 0,
    readings      bigint not null default 0,
    duplicates    bigint not null default 0,
    heartbeats    bigint not null default 0,
    production    bigint not null default 0,
    dead_letters  bigint not null default 0,
    reconnects    integer not null default 0,
    queue_depth   integer not null default 0,
    messages_per_s double precision not null default 0,
    lag_s         double precision not null default 0,
    last_error    text
);
comment on table ingest_status is
    'Counters and connection state of each machine-data ingest, as last written by it.';
