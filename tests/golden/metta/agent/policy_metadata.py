"""Legacy internal: the policy metadata class."""


class PolicyMetadata(dict):
    def __init__(self, agent_step: int = 0, epoch: int = 0, generation: int = 0, train_time: float = 0, **kw):
        super().__init__(agent_step=agent_step, epoch=epoch, generation=generation, train_time=train_time, **kw)
