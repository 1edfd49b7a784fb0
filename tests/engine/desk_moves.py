"""Random moves on an operator desk: for the tests that check what follows the desk's moves
(the runner's counts, the desk's ready line) against a walk over every operator."""

from dialer.engine.operators import CallInfo, OperatorError

MOVES = ("login", "ready", "pause", "logout", "reserve", "release", "connect", "hangup", "wrap")


def random_move(desk, rng, moves=MOVES) -> bool:
    """One random move of a random operator; False if the desk refused it (as it must some)."""
    op = rng.choice(list(desk.operators.values()))
    action = rng.choice(moves)
    try:
        if action == "login":
            desk.login(op.id, ready=rng.random() < 0.5)
        elif action in ("ready", "pause", "logout"):
            getattr(desk, action)(op.id)
        elif action == "reserve":
            desk.reserve_this(op)
        elif action == "release":
            desk.release(op)
        elif action == "connect":
            desk.connect(op, CallInfo(1, 1, 1))
        elif action == "hangup":
            desk.hangup(op)
        elif action == "wrap":
            desk._move(op, "wrap")
        elif action == "try_reserve":
            desk.try_reserve(rng.choice([None, 1, 2]))
        else:
            raise ValueError(f"no such move: {action}")
    except OperatorError:
        return False
    return True
