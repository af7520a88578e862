#!/usr/bin/env python3
"""QMP clients that behave on the wire as QEMU's own Python tooling does.

qemu.qmp (python/qemu/qmp in QEMU's tree) and its qmp-shell are not on this machine's package
index, so this stdlib-only script reproduces what they do on the wire, as read in their source:

  async   qemu.qmp's QMPClient: reads the greeting, negotiates with {"enable": ["oob"]} when the
          greeting offers oob (else "arguments": {}), without an id; each message is compact JSON
          (separators ',' ':') with no newline; ids are "__qmp#00000", "__qmp#00001", ...; a
          reader task routes replies by id and queues events; lines up to 10 MiB.
  legacy  qemu.qmp's QEMUMonitorProtocol: the same client driven synchronously; the event loop
          runs only inside a call, so events are read only while a command waits for its reply;
          pull_event(wait=False) runs the loop once (sleep(0)) and takes what was queued. The
          command is sent as given, without an id (cmd_obj uses assign_id=False).
  shell   qmp-shell: each input line "command key=value ..." becomes
          {"execute": command, "arguments": {...}} sent through the legacy client; an empty line
          prints the events received so far.

Usage: qmpclients.py MODE SOCKET. It runs a fixed session and prints one line per step; the
proxy tests compare what it prints against a direct QEMU monitor and through the proxy.
"""
import asyncio
import json
import sys

LIMIT = 10 * 1024 * 1024


class QMPClient:
    def __init__(self):
        self.reader = None
        self.writer = None
        self.greeting = None
        self.execute_id = 0
        self.pending = {}
        self.events = asyncio.Queue()
        self.task = None

    async def connect(self, path):
        self.reader, self.writer = await asyncio.open_unix_connection(path, limit=LIMIT)
        self.greeting = json.loads(await self.reader.readline())
        arguments = {}
        if 'oob' in self.greeting['QMP']['capabilities']:
            arguments.setdefault('enable', []).append('oob')
        self._send({'execute': 'qmp_capabilities', 'arguments': arguments})
        reply = json.loads(await self.reader.readline())
        assert 'return' in reply and 'error' not in reply, reply
        self.task = asyncio.get_running_loop().create_task(self._read())

    def _send(self, msg):
        self.writer.write(json.dumps(msg, separators=(',', ':')).encode('utf-8'))

    async def _read(self):
        while True:
            line = await self.reader.readline()
            if not line:
                for queue in self.pending.values():
                    queue.put_nowait(EOFError('disconnected'))
                return
            msg = json.loads(line)
            if 'event' in msg:
                self.events.put_nowait(msg)
                continue
            exec_id = msg.get('id')
            if exec_id in self.pending:
                self.pending[exec_id].put_nowait(msg)
            elif 'error' in msg and 'id' not in msg:
                raise RuntimeError('ServerParseError: an error without id, none pending: %s' % msg)

    async def raw(self, msg, assign_id=True):
        if assign_id:
            msg = dict(msg, id='__qmp#%05d' % self.execute_id)
            self.execute_id += 1
        key = msg.get('id')
        self.pending[key] = asyncio.Queue(maxsize=1)
        try:
            self._send(msg)
            reply = await self.pending[key].get()
        finally:
            del self.pending[key]
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def execute(self, cmd, arguments=None, oob=False):
        msg = {'exec-oob' if oob else 'execute': cmd}
        if arguments:
            msg['arguments'] = arguments
        reply = await self.raw(msg)
        if 'error' in reply:
            return 'error %s: %s' % (reply['error']['class'], reply['error']['desc'])
        return 'return %s' % json.dumps(reply['return'], sort_keys=True)

    def drain_events(self):
        names = []
        while not self.events.empty():
            names.append(self.events.get_nowait()['event'])
        return names

    async def disconnect(self):
        self.writer.close()
        self.task.cancel()


class QEMUMonitorProtocol:
    """The legacy synchronous wrapper: the loop runs only inside calls."""

    def __init__(self, path):
        self.loop = asyncio.new_event_loop()
        self.qmp = QMPClient()
        self.path = path

    def _sync(self, coro):
        return self.loop.run_until_complete(asyncio.wait_for(coro, 20))

    def connect(self):
        self._sync(self.qmp.connect(self.path))
        return self.qmp.greeting

    def cmd_obj(self, qmp_cmd):
        return self._sync(self.qmp.raw(qmp_cmd, assign_id=False))

    def get_events(self):
        self._sync(asyncio.sleep(0))
        return self.qmp.drain_events()

    def close(self):
        self._sync(self.qmp.disconnect())
        self.loop.close()


def summary(reply):
    if 'error' in reply:
        return 'error %s: %s' % (reply['error']['class'], reply['error']['desc'])
    return 'return %s' % json.dumps(reply['return'], sort_keys=True)


async def run_async(path):
    qmp = QMPClient()
    await qmp.connect(path)
    print('greeting', qmp.greeting['QMP']['version']['qemu'], qmp.greeting['QMP']['capabilities'])
    for cmd, args in [('query-status', None), ('stop', None), ('query-status', None), ('cont', None),
                      ('qom-list', {'path': '/machine/peripheral/nope'}), ('no-such-command', None)]:
        print(cmd, await qmp.execute(cmd, args), 'events', qmp.drain_events())
    results = await asyncio.gather(*[qmp.execute('qom-get', {'path': '/machine/peripheral/' + d, 'property': 'type'})
                                     for d in ('rp1', 'nope', 'rp1')])
    print('pipelined', results)
    print('oob', await qmp.execute('query-status', oob=True))
    await qmp.disconnect()


def run_legacy(path):
    qmp = QEMUMonitorProtocol(path)
    greeting = qmp.connect()
    print('greeting', greeting['QMP']['version']['qemu'])
    for cmd in ['stop', 'cont', 'stop', 'cont']:
        print(cmd, summary(qmp.cmd_obj({'execute': cmd})), 'events right after', qmp.get_events())
    print('unknown', summary(qmp.cmd_obj({'execute': 'no-such-command'})))
    qmp.close()


def run_shell(path):
    qmp = QEMUMonitorProtocol(path)
    qmp.connect()
    for line in ['query-status', 'stop', '', 'query-status', 'cont', '',
                 'qom-get path=/machine/peripheral/rp1 property=type',
                 'qom-list path=/machine/peripheral/nope']:
        if line == '':
            print('events', qmp.get_events())
            continue
        parts = line.split()
        args = dict(p.split('=', 1) for p in parts[1:])
        print(line, '->', json.dumps(qmp.cmd_obj({'execute': parts[0], 'arguments': args}), sort_keys=True))
    qmp.close()


if __name__ == '__main__':
    mode, socket_path = sys.argv[1], sys.argv[2]
    if mode == 'async':
        asyncio.run(run_async(socket_path))
    elif mode == 'legacy':
        run_legacy(socket_path)
    elif mode == 'shell':
        run_shell(socket_path)
    else:
        sys.exit('usage: qmpclients.py async|legacy|shell SOCKET')
