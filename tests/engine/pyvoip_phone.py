"""An operator phone that is not ours: pyVoIP, run as its own process by test_pyvoip_interop.py.

    python pyvoip_phone.py SERVER_PORT USER PASSWORD SIP_PORT
Prints "registered" once REGISTER succeeded, "answered <call-id>" for each call it answers."""

import sys
import time

from pyVoIP.VoIP import CallState, VoIPPhone


def main():
    server_port, user, password, sip_port = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])

    def on_call(call):
        try:
            call.answer()
            print(f"answered {call.call_id}", flush=True)
            while call.state == CallState.ANSWERED:
                time.sleep(0.1)
            print("ended", flush=True)
        except Exception as exc:  # report, the test decides
            print(f"error {exc!r}", flush=True)

    phone = VoIPPhone("127.0.0.1", server_port, user, password, myIP="127.0.0.1", callCallback=on_call,
                      sipPort=sip_port, rtpPortLow=42000, rtpPortHigh=42100)
    phone.start()
    print("registered", flush=True)
    try:
        while True:
            time.sleep(0.5)
    finally:
        phone.stop()


if __name__ == "__main__":
    main()
