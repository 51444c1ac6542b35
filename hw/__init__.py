"""Amaranth 0.5 RTL generators of the MAC units and PE arrays, and the flows around them.

Each generator is a ``wiring.Component`` that computes, bit for bit, the golden model of
``sim.numerics.mac``. ``hw.generators`` names them; ``hw.vectors`` packs operand vectors for the
simulators; ``hw.pysim`` and ``hw.icarus`` run them in Amaranth's simulator and in Icarus Verilog;
``hw.synth`` synthesizes them to generic gates with Yosys and ``hw.gatesim`` counts gate toggles.
``hw.corners`` drives them into their corners, ``hw.coverage`` measures which corners a stimulus
reaches, and ``hw.mutation`` checks that deliberately broken RTL is caught.
"""
