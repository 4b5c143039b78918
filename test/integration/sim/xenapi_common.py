"""What every real-client script against the simulator starts with (official XenAPI Python client,
python3-os-xenapi): a logged-in session over TLS checked against the simulator's CA, a call that
returns XAPI's failure instead of raising, and a wait for an Async task's end."""
import ssl
import time
import xmlrpc.client

from os_xenapi.client import XenAPI


def tls_context(cafile):
    """TLS checked against the simulator's CA (XML-RPC and the HTTP handlers: /export, /rrd_updates)"""
    return ssl.create_default_context(cafile=cafile)


def connect(url, cafile, user, pwd, originator):
    session = XenAPI.Session(url, transport=xmlrpc.client.SafeTransport(context=tls_context(cafile)))
    session.xenapi.login_with_password(user, pwd, "1.0", originator)
    return session, session.xenapi


def failure(fn, *args):
    """'succeeded', or XAPI's ErrorDescription list"""
    try:
        fn(*args)
        return "succeeded"
    except XenAPI.Failure as f:
        return f.details


def waiter(api):
    """wait(task) -> (status, result, error_info), the task destroyed afterwards"""
    def wait(task):
        status = api.task.get_status(task)
        while status == "pending":
            time.sleep(0.05)
            status = api.task.get_status(task)
        result = (status, api.task.get_result(task), api.task.get_error_info(task))
        api.task.destroy(task)
        return result
    return wait
