# Variant: DAPT's per-token dynamic scale ReLU(Linear(d, 1)) in place of the
# fixed scale, one per block.
_base_ = ['./adapterx.py']
peft = dict(scale=dict(_delete_=True, type='DynamicTokenScale'))
