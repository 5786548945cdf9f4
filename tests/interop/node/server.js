// An ocpp-rpc RPCServer in strict mode: the strictest independent peer of the interop tests.
//
// Strict mode validates every CALL the charge point sends and every CALLRESULT
// it returns against the official OCPP 1.6 JSON schemas, formats included
// (date-time, uri). Every failure is reported as it happens and counted in the
// final result; the test asserts there are none. Output: JSON lines on stdout,
// the same events as tests/interop/ocpp_csms.py.
//
// Usage: node server.js [<AuthorizationKey as hex>]

'use strict';

const { RPCServer } = require('ocpp-rpc');

const STEP_TIMEOUT_MS = 20000;
const expectedKey = process.argv[2] ? Buffer.from(process.argv[2], 'hex') : null;
const failures = [];
let scenarioStarted = false;

function emit(fields) {
    process.stdout.write(JSON.stringify(fields) + '\n');
}

function now() {
    return new Date().toISOString();
}

const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });

server.auth((accept, reject, handshake) => {
    const password = handshake.password;
    emit({ event: 'connected', id: handshake.identity, basic_auth: password !== undefined });
    if (expectedKey && !(password && password.equals(expectedKey))) {
        emit({ event: 'result', ok: false, error: 'wrong or missing HTTP Basic password' });
        reject(401);
        return;
    }
    accept();
});

server.on('client', (client) => {
    const received = [];
    const waiters = [];
    let nextTransactionId = 500;

    client.on('strictValidationFailure', (ev) => {
        const failure = {
            method: ev.method,
            isCall: ev.isCall,
            outbound: ev.outbound,
            params: ev.params,
            result: ev.result,
            error: String(ev.error && ev.error.message),
            details: ev.error && ev.error.details,
        };
        failures.push(failure);
        emit({ event: 'failure', failure });
    });

    function note(method, params) {
        emit({ event: 'call', action: method, payload: params });
        received.push({ method, params });
        for (const wake of waiters.splice(0)) wake();
    }

    function waitFor(method, where = () => true, after = 0) {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(
                () => reject(new Error(`no ${method} within ${STEP_TIMEOUT_MS} ms`)),
                STEP_TIMEOUT_MS,
            );
            const look = () => {
                const hit = received.slice(after).find((m) => m.method === method && where(m.params));
                if (hit) {
                    clearTimeout(timer);
                    resolve(hit.params);
                } else {
                    waiters.push(look);
                }
            };
            look();
        });
    }

    const answers = {
        BootNotification: () => ({ status: 'Accepted', currentTime: now(), interval: 2 }),
        Heartbeat: () => ({ currentTime: now() }),
        StatusNotification: () => ({}),
        Authorize: () => ({ idTagInfo: { status: 'Accepted' } }),
        StartTransaction: () => ({
            transactionId: nextTransactionId++,
            idTagInfo: { status: 'Accepted' },
        }),
        StopTransaction: () => ({ idTagInfo: { status: 'Accepted' } }),
        MeterValues: () => ({}),
        DataTransfer: () => ({ status: 'UnknownVendorId' }),
        DiagnosticsStatusNotification: () => ({}),
        FirmwareStatusNotification: () => ({}),
    };
    for (const [method, answer] of Object.entries(answers)) {
        client.handle(method, ({ params }) => {
            const reply = answer(params); // first: a StartTransaction's id is handed out
            note(method, params);
            return reply;
        });
    }

    if (scenarioStarted) return;
    scenarioStarted = true;

    (async () => {
        try {
            await waitFor('BootNotification');
            await waitFor('Heartbeat');
            emit({ event: 'step', name: 'heartbeat' });
            const localStop = await waitFor('StopTransaction');
            emit({ event: 'step', name: 'local transaction', stop: localStop });
            const config = await client.call('GetConfiguration', {
                key: ['HeartbeatInterval', 'MeterValueSampleInterval'],
            });
            const values = Object.fromEntries(config.configurationKey.map((kv) => [kv.key, kv.value]));
            emit({ event: 'step', name: 'GetConfiguration', values });
            const change = await client.call('ChangeConfiguration', {
                key: 'MeterValueSampleInterval',
                value: '1',
            });
            if (change.status !== 'Accepted') throw new Error(`ChangeConfiguration: ${change.status}`);
            const again = await client.call('GetConfiguration', { key: ['MeterValueSampleInterval'] });
            const changed = Object.fromEntries(again.configurationKey.map((kv) => [kv.key, kv.value]));
            emit({ event: 'step', name: 'ChangeConfiguration', values: changed });
            const mark = received.length;
            const start = await client.call('RemoteStartTransaction', { idTag: 'REMOTE-1', connectorId: 1 });
            if (start.status !== 'Accepted') throw new Error(`RemoteStartTransaction: ${start.status}`);
            const started = await waitFor('StartTransaction', (p) => p.idTag === 'REMOTE-1', mark);
            const txId = nextTransactionId - 1;
            const meter = await waitFor('MeterValues', (p) => p.transactionId === txId, mark);
            emit({ event: 'step', name: 'remote transaction', start: started, meter });
            const stop = await client.call('RemoteStopTransaction', { transactionId: txId });
            if (stop.status !== 'Accepted') throw new Error(`RemoteStopTransaction: ${stop.status}`);
            const stopped = await waitFor('StopTransaction', (p) => p.transactionId === txId, mark);
            emit({ event: 'result', ok: true, remote_stop: stopped, failures });
        } catch (e) {
            emit({ event: 'result', ok: false, error: String(e && e.message), failures });
        }
    })();
});

server.listen(0, '127.0.0.1').then((http) => {
    emit({ event: 'listening', port: http.address().port });
});

for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
        server.close({ force: true }).finally(() => process.exit(0));
        setTimeout(() => process.exit(0), 1000).unref();
    });
}
