"""Unit tests of the query checks' parsing (scripts/test-monitoring.sh runs them before the checks themselves):
the metric names a PromQL expression selects, the Flux columns a query reads, and the Kubernetes relabelling."""

import unittest

import check_queries as q
import k8s_config


class PromqlNames(unittest.TestCase):
    def test_selectors_are_names_and_functions_labels_and_keywords_are_not(self):
        expr = ('histogram_quantile(0.99, sum by (service, le) (rate(rpc_server_call_duration_seconds_bucket'
                '{rpc_method!="WatchEvents",x=~"a|b"}[5m]))) > 0.5 and on (service) up == 1 '
                'or max without (instance) (devopstrack_queue_depth offset 5m) unless vector(1)')
        self.assertEqual(q.metric_names(expr),
                         {"rpc_server_call_duration_seconds_bucket", "up", "devopstrack_queue_depth"})

    def test_strings_durations_and_numbers_are_not_names(self):
        self.assertEqual(q.metric_names('label_replace(foo_total, "dst", "$1", "src", "(bar_total)") * 1e3'),
                         {"foo_total"})

    def test_grafana_variables_become_parseable_values(self):
        self.assertEqual(q.grafana_to_promql('rate(x{service=~"$service",a="${b:regex}"}[$__rate_interval])'),
                         'rate(x{service=~".*",a=".*"}[1m])')


class FluxColumns(unittest.TestCase):
    COLUMNS = {"project", "environment", "status", "commit_time_us", "finished_at_us"}

    def test_columns_made_by_map_are_allowed_and_unknown_ones_reported(self):
        query = ('from(bucket: "devopstrack") |> filter(fn: (r) => r._measurement == "deployment")\n'
                 '|> map(fn: (r) => ({r with lead: r.finished_at_us - r.commit_time_us}))\n'
                 '|> median(column: "lead") |> filter(fn: (r) => r.commit_at_us > 0)')
        problems = q.flux_problems("x", query, {"deployment"}, self.COLUMNS)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("'commit_at_us'", problems[0])

    def test_a_wrong_measurement_field_or_bucket_is_reported(self):
        query = ('from(bucket: "other") |> filter(fn: (r) => r._measurement == "deployments" '
                 'and r._field == "state")')
        problems = q.flux_problems("x", query, {"deployment"}, self.COLUMNS)
        self.assertEqual(len(problems), 3, problems)


class Relabelling(unittest.TestCase):
    def test_keep_and_replace_with_groups(self):
        configs = [{"source_labels": ["a"], "regex": "yes", "action": "keep"},
                   {"source_labels": ["__address__", "port"], "regex": r"([^:]+)(?::\d+)?;(\d+)",
                    "replacement": "$1:$2", "target_label": "__address__"}]
        self.assertEqual(k8s_config.relabel({"a": "yes", "__address__": "10.0.0.1:80", "port": "9100"}, configs)
                         ["__address__"], "10.0.0.1:9100")
        self.assertIsNone(k8s_config.relabel({"a": "no"}, configs))


if __name__ == "__main__":
    unittest.main()
