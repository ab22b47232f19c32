-- Plant time for processes that do not run the engine: when (on the database server's clock)
-- the engine last saved its state, so that another service process can follow plant time.
alter table sim_state add column saved_wall timestamptz;
comment on column sim_state.saved_wall is
    'When the engine saved this row, on the database server''s clock (not plant time): with '
    'plant_time, speed and paused, what other processes follow plant time by.';
