-- The simulation engine: its persisted state, the faults it plays (with their ground truth for
-- scoring predictions later), and commands queued for a running engine by other processes.

create table sim_state (
    engine            text primary key default 'main'
        constraint sim_state_singleton check (engine = 'main'),
    seed              integer not null,
    speed             double precision not null
        constraint sim_state_speed_positive check (speed > 0),
    paused            boolean not null default false,
    running           boolean not null default false,
    holder            text,
    plant_time        timestamptz,
    started_at        timestamptz,
    updated_at        timestamptz not null,
    generators        jsonb not null default '{}'
        constraint sim_state_generators_object check (jsonb_typeof(generators) = 'object'),
    delayed_suppliers text[] not null default '{}',
    counts            jsonb not null default '{}'
        constraint sim_state_counts_object check (jsonb_typeof(counts) = 'object')
);
comment on table sim_state is
    'The simulation engine: seed, speed, paused or running, plant time, generators and their '
    'rates, suppliers it delays, and counts of what it generated.';
comment on constraint sim_state_speed_positive on sim_state is
    'the simulation speed is a factor above 0 (60: a real second is a plant minute)';

create table sim_ground_truth (
    fault_id   bigserial primary key,
    machine_id text not null references equipment on delete cascade,
    pattern    text not null
        constraint sim_fault_pattern check (pattern in
            ('BEARING_DEGRADATION', 'MOTOR_BURNOUT', 'SPINDLE_WEAR', 'COOLANT_FAILURE',
             'ELECTRICAL_FAULT', 'SENSOR_DRIFT')),
    started_at timestamptz not null,
    failure_at timestamptz not null,
    ended_at   timestamptz,
    source     text not null
        constraint sim_fault_source check (source in ('engine', 'scenario', 'backfill')),
    params     jsonb not null default '{}',
    created_at timestamptz not null,
    constraint sim_fault_order check (failure_at > started_at),
    constraint sim_fault_end check (ended_at is null or ended_at >= started_at)
);
comment on table sim_ground_truth is
    'Faults the simulation played on machines: pattern, onset, the true failure time (for '
    'scoring predictions) and when the fault was repaired.';
comment on constraint sim_fault_pattern on sim_ground_truth is
    'pattern is one of BEARING_DEGRADATION, MOTOR_BURNOUT, SPINDLE_WEAR, COOLANT_FAILURE, '
    'ELECTRICAL_FAULT, SENSOR_DRIFT';
comment on constraint sim_fault_order on sim_ground_truth is
    'a fault fails after it starts';
-- A machine degrades in one way at a time.
create unique index sim_ground_truth_one_active on sim_ground_truth (machine_id)
    where ended_at is null;
create index sim_ground_truth_by_machine on sim_ground_truth (machine_id, started_at);

create table sim_commands (
    command_id   bigserial primary key,
    command      text not null
        constraint sim_command_kind check (command in
            ('scenario', 'reset', 'pause', 'resume', 'speed', 'enable', 'disable', 'rate')),
    args         jsonb not null default '{}',
    requested_at timestamptz not null,
    done_at      timestamptz,
    result       jsonb
);
comment on table sim_commands is
    'Commands for the running simulation engine (scenario, reset, pause, speed, generator '
    'switches and rates), queued by other processes and marked done by the engine.';
comment on constraint sim_command_kind on sim_commands is
    'command is one of scenario, reset, pause, resume, speed, enable, disable, rate';
create index sim_commands_pending on sim_commands (command_id) where done_at is null;
