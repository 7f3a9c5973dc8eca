"""The whole service on this machine for the service bench: moto (its server over HTTP, or
its mock in this process), the Twilio stand-in, a chat receiver and the app behind
Chalice's test client, with the AWS hooks that count and bill every call
(bench/service/aws_hooks.py)."""

from __future__ import annotations

import logging
import os

import boto3
import requests
from chalice.test import Client
from moto import mock_aws
from moto.server import ThreadedMotoServer

import app as app_module
from bench.kit import environment
from bench.kit.seams import Seams
from bench.service import aws_hooks
from bench.service.settings import AUTH_TOKEN
from devstack.chat_receiver import ChatReceiver
from devstack.twilio.server import serve
from infra.resources import create_all


class LocalService:
    """`with LocalService() as service:` the service, the stand-in (`service.standin`), the
    chat receiver (`service.chat`) and a Chalice test client (`service.client`); every seam
    it installs is in `service.seams`, undone when it ends."""

    def __init__(self, in_process: bool = False):
        self.in_process = in_process
        self.app_module = app_module

    def __enter__(self) -> LocalService:
        seams = self.seams = Seams()
        seams.local_stack_sqs_fifo()  # SQS's FIFO group order and batching, as the local stack has them
        if self.in_process:
            seams.environment(AWS_ENDPOINT_URL=None)
            seams.enter(mock_aws())  # fresh backends
        else:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per AWS call drowns the figures
            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            moto.start()
            seams.on_close(moto.stop)
            host, port = moto.get_host_and_port()
            seams.environment(AWS_ENDPOINT_URL=f"http://{host}:{port}")
            requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10)  # moto's state is per process
        aws_hooks.install(seams)
        create_all(environment.PREFIX, boto3.client("dynamodb"), boto3.client("sqs"))
        self.standin = serve(
            port=0, account_sid=os.environ["TWILIO_ACCOUNT_SID"], auth_token=AUTH_TOKEN, callback_delay=3600
        )
        seams.on_close(self.standin.shutdown)
        self.chat = ChatReceiver([os.environ["CHAT_WEBHOOK_SECRET"]]).start()
        seams.on_close(self.chat.stop)
        seams.environment(TWILIO_API_BASE_URL=self.standin.url, CHAT_WEBHOOK_URL=self.chat.url)
        self.client = seams.enter(Client(app_module.app))
        return self

    def __exit__(self, *exc) -> None:
        self.seams.close()
