"""StopTransaction's transactionData: the wire forms kept as each value was sampled, put
into the message as they are (not decoded and encoded again), and sent as the
Central System reads them: the values of the transaction, oldest first."""

from __future__ import annotations

import trio

from chargebox.ocpp import codec
from chargebox.ocpp.v16 import MeterValue
from tests.support import running

ENERGY = "Energy.Active.Import.Register"
SAMPLING = {
    "Core": {
        "MeterValueSampleInterval": 60,
        "ClockAlignedDataInterval": 0,
        "StopTxnSampledData": ENERGY,
    }
}


async def test_the_kept_values_go_into_stop_transaction_as_they_were_kept(
    tmp_path, autojump_clock, monkeypatch
):
    async with running(tmp_path, **SAMPLING) as rig:
        cp = rig.cp
        await cp.session_started(1)
        await cp.meter_values(1, {ENERGY: 1000})
        await cp.transaction_started(1, meter_start=1000, id_tag="TAG-1")
        await rig.csms.wait_until(lambda: cp.transaction_id(1) is not None)
        for minute in range(1, 6):
            await trio.sleep(60)
            await cp.meter_values(1, {ENERGY: 1000 + 100 * minute})
        await rig.csms.wait_for("MeterValues", count=5)
        decoded: list[object] = []
        decode = codec.decode

        def counting(cls, payload):
            if cls is MeterValue:
                decoded.append(payload)
            return decode(cls, payload)

        monkeypatch.setattr(codec, "decode", counting)
        await cp.transaction_stopped(1, meter_stop=1550, reason="Local")
        monkeypatch.setattr(codec, "decode", decode)
        stop = await rig.csms.wait_for("StopTransaction")
        assert decoded == []  # none of the kept values was decoded to be encoded again
        data = stop.transaction_data
        contexts = [str(mv.sampled_value[0].context) for mv in data]
        assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"
        assert set(contexts[1:-1]) == {"Sample.Periodic"}
        # the samples' energy values, as the MeterValues carried them
        sampled = [
            mv.meter_value[0].sampled_value[0].value
            for mv in rig.csms.received("CP-1", "MeterValues")
        ]
        assert len(sampled) >= 5
        assert [mv.sampled_value[0].value for mv in data] == ["1000", *sampled, "1550"]
        assert [mv.timestamp for mv in data[1:-1]] == [
            mv.meter_value[0].timestamp for mv in rig.csms.received("CP-1", "MeterValues")
        ]
        assert all(len(mv.sampled_value) == 1 for mv in data)  # StopTxnSampledData only
