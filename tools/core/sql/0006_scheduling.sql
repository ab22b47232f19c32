-- Production scheduling: what a proposal was asked for, how the solve went, what a
-- reschedule changes, and the working pieces of each slot.

alter table schedules
    add column kind text not null default 'PLAN'
        constraint schedule_kind check (kind in ('PLAN', 'RESCHEDULE')),
    add column based_on bigint references schedules,
    add column settings jsonb not null default '{}',
    add column statistics jsonb not null default '{}',
    add column impact jsonb,
    add column decision_reason text
        constraint schedule_decision_reason_length check (length(decision_reason) <= 500),
    add constraint schedule_reschedule_has_base check (kind <> 'RESCHEDULE' or based_on is not null),
    add constraint schedule_applied_has_time check ((status = 'APPLIED') <= (applied_at is not null));
comment on constraint schedule_kind on schedules is
    'kind is PLAN (a fresh schedule) or RESCHEDULE (a revision of an applied one)';
comment on constraint schedule_reschedule_has_base on schedules is
    'a reschedule names the schedule it revises';
comment on constraint schedule_decision_reason_length on schedules is
    'a decision reason is at most 500 characters';
comment on constraint schedule_applied_has_time on schedules is
    'an applied schedule records when it was applied';
comment on column schedules.settings is
    'what the proposal was asked for: objective, time limit, workers, seed, horizon, setups';
comment on column schedules.statistics is
    'how the solve went: seconds to the first and to the best solution, makespan, weighted '
    'tardiness, operations moved';
comment on column schedules.impact is
    'for a reschedule: operations moved, start and finish changes, orders made late, overtime';

create index schedules_by_status on schedules (status, facility_id, schedule_id);
create index schedules_by_base on schedules (based_on) where based_on is not null;

-- [start, end) pairs (ISO timestamps) in which the operation processes: an operation that
-- pauses over breaks and off-shift time has several.
alter table schedule_slots
    add column segments jsonb not null default '[]'
        constraint slot_segments_array check (jsonb_typeof(segments) = 'array');
comment on constraint slot_segments_array on schedule_slots is
    'segments is a JSON array of [start, end] pairs';
