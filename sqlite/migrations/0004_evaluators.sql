-- Evaluators: named checks of an account (rule, builtin, judge). config is
-- JSON; secret holds the judge's API key (never returned by the API);
-- agent_ids is a JSON list of the agents ("*": all) whose new runs it evaluates.
CREATE TABLE evaluators (
    account_id  TEXT NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    config      TEXT NOT NULL,
    secret      TEXT NOT NULL DEFAULT '',
    agent_ids   TEXT NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX evaluators_name ON evaluators(account_id, name);

-- Verdicts written by one evaluation job, and the history of a (run, evaluator).
CREATE INDEX eval_results_job ON eval_results(account_id, job_id, created_at, id);
CREATE INDEX eval_results_pair ON eval_results(account_id, run_id, evaluator_id, current);
