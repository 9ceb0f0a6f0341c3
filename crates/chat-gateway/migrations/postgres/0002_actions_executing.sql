-- The recovery sweep (actions left executing by a gateway that stopped) reads only the few actions executing now.
CREATE INDEX actions_executing ON actions (updated_at) WHERE state = 'executing';
