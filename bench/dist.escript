#!/usr/bin/env escript
%%! -sname iridium_bench_a -setcookie iridium_bench
%% The Erlang twins of dist's benchmarks (bench/dist.sh runs both): this
%% node against the node named on the command line, on loopback.
%%   roundtrip NODE N  pass a counter back and forth with an echo process there, N times
%%   spawn NODE N      spawn_monitor a process there that ends at once, wait for its 'DOWN', N times
%%   oneway NODE N     send N messages to a counting process there, which acknowledges
%%                     every 10,000; at most two batches unacknowledged
%% Each prints "NAME VALUE UNIT".
-mode(compile).

main([Peer, What, N]) ->
    Node = list_to_atom(Peer),
    pong = net_adm:ping(Node),
    Dir = filename:dirname(escript:script_name()),
    {ok, Mod, Bin} = compile:file(filename:join(Dir, "dist_helper.erl"), [binary]),
    {module, Mod} = code:load_binary(Mod, "dist_helper.erl", Bin),
    {module, Mod} = rpc:call(Node, code, load_binary, [Mod, "dist_helper.erl", Bin]),
    run(What, Node, list_to_integer(N)).

run("roundtrip", Node, Count) ->
    Echo = spawn(Node, dist_helper, echo, []),
    T0 = erlang:monotonic_time(nanosecond),
    ping(Echo, 0, Count),
    T1 = erlang:monotonic_time(nanosecond),
    io:format("roundtrip ~.1f ns~n", [(T1 - T0) / Count]);
run("spawn", Node, Count) ->
    T0 = erlang:monotonic_time(nanosecond),
    spawns(Node, Count),
    T1 = erlang:monotonic_time(nanosecond),
    io:format("spawn ~.1f ns~n", [(T1 - T0) / Count]);
run("oneway", Node, Count) ->
    Batch = 10000,
    Counter = spawn(Node, dist_helper, counter, [self(), Batch]),
    T0 = erlang:monotonic_time(nanosecond),
    send(Counter, 0, Count, Batch, 0, 0),
    Counter ! done,
    receive {count, Count} -> ok end,
    T1 = erlang:monotonic_time(nanosecond),
    io:format("oneway ~.1f msgs/s~n", [Count / ((T1 - T0) / 1.0e9)]).

ping(_, Count, Count) -> ok;
ping(Echo, I, Count) ->
    Echo ! {self(), I},
    receive I -> ping(Echo, I + 1, Count) end.

spawns(_, 0) -> ok;
spawns(Node, K) ->
    {Pid, Ref} = spawn_monitor(Node, dist_helper, nop, []),
    receive {'DOWN', Ref, process, Pid, _} -> ok end,
    spawns(Node, K - 1).

%% send I .. Count-1, with Sent batches out and Acked acknowledged.
send(_, Count, Count, _, _, _) -> ok;
send(Counter, I, Count, Batch, Sent, Acked) ->
    Counter ! I,
    J = I + 1,
    case J rem Batch of
        0 -> send(Counter, J, Count, Batch, Sent + 1, window(Sent + 1, Acked));
        _ -> send(Counter, J, Count, Batch, Sent, Acked)
    end.

window(Sent, Acked) when Sent - Acked < 2 -> Acked;
window(Sent, Acked) -> receive {ack, _} -> window(Sent, Acked + 1) end.
