# -*- coding: utf-8 -*-
"""Parsers for `xl info -n` and `xl vcpu-list` (tools/xl/xl_info.c, xl_vcpu.c printf formats).

Kept free of XenAPIPlugin so it can be imported and unit-tested anywhere. The TypeScript twin is
shared/numa/xl.ts; both are held to the fixtures in test/fixtures/numa/. Runs on Python 2.7 (old
XenServer dom0) and Python 3.
"""
import re

PLUGIN_VERSION = 1

INT_KEYS = (
    'nr_cpus', 'max_cpu_id', 'nr_nodes', 'cores_per_socket', 'threads_per_core',
    'total_memory', 'free_memory', 'sharing_freed_memory', 'sharing_used_memory',
    'outstanding_claims', 'free_cpus', 'xen_major', 'xen_minor',
)
STRING_KEYS = ('host', 'release', 'machine', 'cpu_mhz', 'xen_version', 'xen_extra', 'xen_scheduler', 'xen_caps')

KEY_VALUE = re.compile(r'^([a-z_][a-z0-9_]*)\s*:\s?(.*)$')
CPU_ROW = re.compile(r'^\s*(\d+):\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s*$')
NODE_ROW = re.compile(r'^\s*(\d+):\s+(\d+)\s+(\d+)\s+(\d+(?:,\d+)*)\s*$')
VCPU_HEADER = re.compile(r'^Name\s+ID\s+VCPU\s+CPU\s+State\s+Time\(s\)\s+Affinity \(Hard / Soft\)$')
VCPU_ROW = re.compile(r'^(.*?)\s+(\d+)\s+(\d+)\s+(\d+|-)\s+([r-][b-][p-])\s+(\d+\.\d)\s+(\S+) / (\S+)$')


class XlParseError(ValueError):
    pass


def parse_xl_info(text):
    """`xl info -n` -> {'host': {...}, 'cpus': [...], 'nodes': [...]}. Offline rows are simply absent."""
    host = {}
    cpus = []
    nodes = []
    section = 'kv'
    for i, raw in enumerate(text.splitlines()):
        line = raw.rstrip()
        if line == '':
            continue
        if re.match(r'^cpu_topology\s*:$', line):
            section = 'cpu'
            continue
        if re.match(r'^device topology\s*:$', line):
            section = 'device'
            continue
        if re.match(r'^numa_info\s*:$', line):
            section = 'numa'
            continue
        if section == 'cpu':
            if re.match(r'^cpu:\s+core\s+socket\s+node$', line):
                continue
            m = CPU_ROW.match(line)
            if m:
                cpus.append({'cpu': int(m.group(1)), 'core': int(m.group(2)),
                             'socket': int(m.group(3)), 'node': int(m.group(4))})
                continue
            if re.match(r'^\s*\d+:', line):
                raise XlParseError('xl info -n: malformed cpu_topology row %d: "%s"' % (i + 1, line))
            section = 'kv'
        elif section == 'device':
            if (re.match(r'^device\s+node$', line)
                    or re.match(r'^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\s+\d+$', line)
                    or line == 'No device topology data available'):
                continue
            section = 'kv'
        elif section == 'numa':
            if re.match(r'^node:\s+memsize\s+memfree\s+distances$', line):
                continue
            m = NODE_ROW.match(line)
            if m:
                nodes.append({'node': int(m.group(1)), 'memsize': int(m.group(2)),
                              'memfree': int(m.group(3)),
                              'distances': [int(d) for d in m.group(4).split(',')]})
                continue
            if re.match(r'^\s*\d+:', line):
                raise XlParseError('xl info -n: malformed numa_info row %d: "%s"' % (i + 1, line))
            section = 'kv'
        kv = KEY_VALUE.match(line)
        if not kv:
            continue
        key, value = kv.group(1), kv.group(2).strip()
        if key in INT_KEYS:
            if not re.match(r'^-?\d+$', value):
                raise XlParseError('xl info -n: %s is not an integer: "%s"' % (key, value))
            host[key] = int(value)
        elif key in STRING_KEYS:
            host[key] = value
    return {'host': host, 'cpus': cpus, 'nodes': nodes}


def parse_xl_vcpu_list(text):
    """`xl vcpu-list` -> list of vCPU dicts. Columns are anchored from the right (names may hold spaces)."""
    out = []
    for i, raw in enumerate(text.splitlines()):
        line = raw.rstrip()
        if line == '' or VCPU_HEADER.match(line):
            continue
        m = VCPU_ROW.match(line)
        if not m:
            raise XlParseError('xl vcpu-list: malformed row %d: "%s"' % (i + 1, line))
        state = m.group(5)
        out.append({
            'name': m.group(1),
            'domid': int(m.group(2)),
            'vcpu': int(m.group(3)),
            'cpu': None if m.group(4) == '-' else int(m.group(4)),
            'online': state[2] != 'p',
            'running': state[0] == 'r',
            'blocked': state[1] == 'b',
            'state': state,
            'time': float(m.group(6)),
            'hard': m.group(7),
            'soft': m.group(8),
        })
    return out


def parse_cpu_list(text, nr_cpus):
    """An xl CPU list ('all', 'none', '0-15,32') -> sorted list of CPU ids."""
    t = text.strip()
    if t == 'all':
        return list(range(nr_cpus))
    if t == 'none':
        return []
    out = set()
    for part in t.split(','):
        m = re.match(r'^(\d+)(?:-(\d+))?$', part)
        if not m:
            raise XlParseError('not an xl CPU list: "%s" (bad element "%s")' % (text, part))
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) is not None else a
        if b < a:
            raise XlParseError('not an xl CPU list: "%s" (descending range "%s")' % (text, part))
        out.update(range(a, b + 1))
    return sorted(out)


def distance_matrix(nodes):
    ids = [n['node'] for n in nodes]
    return [[n['distances'][j] if j < len(n['distances']) else -1 for j in ids] for n in nodes]


def build_topology(info_text, vcpu_list_text):
    """What the plugin's `topology` function returns (before json.dumps)."""
    info = parse_xl_info(info_text)
    return {
        'version': PLUGIN_VERSION,
        'host': info['host'],
        'cpus': info['cpus'],
        'nodes': info['nodes'],
        'distances': distance_matrix(info['nodes']),
        'vcpus': parse_xl_vcpu_list(vcpu_list_text),
    }
