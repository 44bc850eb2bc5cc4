from blinker import Namespace

_signals = Namespace()

#: Sent inside the transaction that marks a message sent, so listeners' writes commit with it.
message_sent = _signals.signal("message-sent")
