-- The plant's own rules, whether the world is simulated or real.

-- Heartbeats as they arrive, kept for a bounded time (the timed rules prune them), so that the
-- share of beats a machine missed and the trend of their delay can be computed.
create table machine_heartbeats (
    machine_id  text not null references equipment (machine_id) on delete cascade,
    at          timestamptz not null,
    received_at timestamptz not null,
    primary key (machine_id, at)
);
comment on table machine_heartbeats is
    'each heartbeat a machine sent (its own time) and when Titan stored it; pruned after a while';
create index machine_heartbeats_by_time on machine_heartbeats (at);

-- How reliably a machine is heard: OK, or DEGRADED while its heartbeats come intermittently;
-- and the risk its heartbeats show (HIGH: many missed, MEDIUM: delay rising, LOW).
alter table equipment
    add column connectivity text not null default 'OK'
        constraint machine_connectivity check (connectivity in ('OK', 'DEGRADED')),
    add column heartbeat_risk text not null default 'LOW'
        constraint machine_heartbeat_risk check (heartbeat_risk in ('LOW', 'MEDIUM', 'HIGH'));
comment on constraint machine_connectivity on equipment is
    'connectivity is OK or DEGRADED (heartbeats intermittent)';
comment on constraint machine_heartbeat_risk on equipment is
    'heartbeat risk is LOW, MEDIUM or HIGH';

-- A machine that went down and had work planned: the reschedule proposed to move its work
-- elsewhere, and once it is back and healthy, the rebalance proposed to move work back.
create table failovers (
    failover_id     bigserial primary key,
    machine_id      text not null references equipment (machine_id) on delete cascade,
    down_event_id   bigint not null unique,
    down_at         timestamptz not null,
    reschedule_id   bigint references schedules (schedule_id) on delete set null,
    recovered_at    timestamptz,
    rebalance_id    bigint references schedules (schedule_id) on delete set null,
    detail          text not null default ''
);
comment on table failovers is
    'a machine down with planned work: the reschedule proposed, and the rebalance once it is back';
create index failovers_open on failovers (machine_id) where recovered_at is null;
