# -*- coding: utf-8 -*-
"""The plugin's xl parsers against the shared fixtures (test/fixtures/numa), and the plugin entry
point against a fake `xl`. Run: /usr/bin/python3 -m unittest discover -s build/xenpilot_numa/tests"""
import glob
import importlib.machinery
import importlib.util
import json
import os
import stat
import sys
import tempfile
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN_DIR = os.path.dirname(HERE)
FIXTURES = os.path.join(PLUGIN_DIR, '..', '..', 'test', 'fixtures', 'numa')
sys.path.insert(0, PLUGIN_DIR)

import xenpilot_numa_xl as xl  # noqa: E402


def read(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


class XlInfoFixtures(unittest.TestCase):
    def test_every_topology_fixture_parses_to_its_expected_json(self):
        names = sorted(os.path.basename(p)[:-len('.xl-info.txt')] for p in glob.glob(os.path.join(FIXTURES, '*.xl-info.txt')))
        self.assertGreaterEqual(len(names), 6)
        for name in names:
            with self.subTest(fixture=name):
                info = xl.parse_xl_info(read(name + '.xl-info.txt'))
                expected = json.loads(read(name + '.expected.json'))
                self.assertEqual(info['host'], expected['host'])
                self.assertEqual(info['cpus'], expected['cpus'])
                self.assertEqual(info['nodes'], expected['nodes'])
                self.assertEqual(xl.distance_matrix(info['nodes']), expected['distances'])

    def test_adjacent_and_split_numbering_put_siblings_in_different_places(self):
        adj = xl.parse_xl_info(read('2s2n-smt2-adjacent.xl-info.txt'))['cpus']
        split = xl.parse_xl_info(read('2s2n-smt2-split.xl-info.txt'))['cpus']
        self.assertEqual((adj[0]['core'], adj[0]['socket']), (adj[1]['core'], adj[1]['socket']))
        self.assertEqual((split[0]['core'], split[0]['socket']), (split[16]['core'], split[16]['socket']))
        self.assertNotEqual(split[0]['socket'], split[8]['socket'])

    def test_offline_cpu_rows_are_absent_not_invented(self):
        info = xl.parse_xl_info(read('2n-offline-cpus.xl-info.txt'))
        ids = [c['cpu'] for c in info['cpus']]
        self.assertNotIn(5, ids)
        self.assertNotIn(13, ids)
        self.assertEqual(len(ids), 14)
        self.assertEqual(info['host']['max_cpu_id'], 15)

    def test_sub_numa_distances_and_opteron_matrix(self):
        snc = xl.parse_xl_info(read('2s4n-snc-128t.xl-info.txt'))
        self.assertEqual(len(snc['cpus']), 128)
        self.assertEqual(xl.distance_matrix(snc['nodes'])[0], [10, 11, 21, 21])
        opteron = xl.parse_xl_info(read('opteron-8n.xl-info.txt'))
        self.assertEqual(xl.distance_matrix(opteron['nodes'])[2], [16, 22, 10, 16, 16, 16, 16, 16])

    def test_malformed_rows_are_refused_with_the_line(self):
        bad = 'cpu_topology           :\ncpu:    core    socket     node\n  0:       x        0        0\n'
        with self.assertRaises(xl.XlParseError) as ctx:
            xl.parse_xl_info(bad)
        self.assertIn('row 3', str(ctx.exception))
        with self.assertRaises(xl.XlParseError):
            xl.parse_xl_info('nr_cpus                : many\n')


class VcpuListFixture(unittest.TestCase):
    def test_vcpu_list_parses_to_expected_json(self):
        self.assertEqual(xl.parse_xl_vcpu_list(read('vcpu-list.txt')), json.loads(read('vcpu-list.expected.json')))

    def test_offline_vcpu_has_no_cpu(self):
        rows = xl.parse_xl_vcpu_list(read('vcpu-list.txt'))
        offline = [r for r in rows if not r['online']]
        self.assertEqual([(r['name'], r['vcpu']) for r in offline], [('Domain-0', 2), ('web frontend', 1)])
        self.assertTrue(all(r['cpu'] is None and r['state'] == '--p' for r in offline))

    def test_cpu_lists_all_none_and_ranges(self):
        self.assertEqual(xl.parse_cpu_list('all', 4), [0, 1, 2, 3])
        self.assertEqual(xl.parse_cpu_list('none', 4), [])
        self.assertEqual(xl.parse_cpu_list('0,2,4-6,31', 32), [0, 2, 4, 5, 6, 31])
        with self.assertRaises(xl.XlParseError):
            xl.parse_cpu_list('3-1', 8)
        with self.assertRaises(xl.XlParseError):
            xl.parse_cpu_list('a', 8)

    def test_garbage_row_is_refused(self):
        with self.assertRaises(xl.XlParseError):
            xl.parse_xl_vcpu_list('Domain-0 zero\n')


class PluginEntryPoint(unittest.TestCase):
    """Loads the plugin file with a stand-in XenAPIPlugin and a fake xl that prints the fixtures."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        fake = os.path.join(self.tmp, 'xl')
        with open(fake, 'w') as f:
            f.write('#!/bin/sh\n'
                    'if [ "$1" = info ]; then cat "%s"; exit 0; fi\n'
                    'if [ "$1" = vcpu-list ]; then cat "%s"; exit 0; fi\n'
                    'echo "unknown command $1" >&2; exit 1\n' % (
                        os.path.join(FIXTURES, '2s2n-smt2-split.xl-info.txt'), os.path.join(FIXTURES, 'vcpu-list.txt')))
        os.chmod(fake, stat.S_IRWXU)
        os.environ['XENPILOT_XL'] = fake

        class Failure(Exception):
            def __init__(self, code, params):
                Exception.__init__(self, code, params)
                self.code, self.params = code, params

        self.stub = types.ModuleType('XenAPIPlugin')
        self.stub.Failure = Failure
        self.stub.dispatch = lambda fns: None
        sys.modules['XenAPIPlugin'] = self.stub
        path = os.path.join(PLUGIN_DIR, 'xenpilot_numa')
        loader = importlib.machinery.SourceFileLoader('xenpilot_numa_plugin', path)
        spec = importlib.util.spec_from_loader('xenpilot_numa_plugin', loader)
        self.plugin = importlib.util.module_from_spec(spec)
        loader.exec_module(self.plugin)

    def tearDown(self):
        del os.environ['XENPILOT_XL']
        sys.modules.pop('XenAPIPlugin', None)
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def test_topology_returns_the_json_document(self):
        doc = json.loads(self.plugin.topology(None, {}))
        self.assertEqual(doc['version'], 1)
        self.assertEqual(doc['host']['nr_nodes'], 2)
        self.assertEqual(len(doc['cpus']), 32)
        self.assertEqual(doc['distances'], [[10, 21], [21, 10]])
        self.assertEqual(len(doc['vcpus']), 9)

    def test_xl_failure_becomes_a_xapi_plugin_failure(self):
        with self.assertRaises(self.stub.Failure) as ctx:
            self.plugin._run(['bogus'])
        self.assertEqual(ctx.exception.code, 'XENPILOT_NUMA_XL_FAILED')
        self.assertIn('unknown command', ctx.exception.params[1])


if __name__ == '__main__':
    unittest.main()
