#!/usr/bin/env escript
%% The Erlang twins of proc's benchmarks (bench/procs.sh runs both):
%%   roundtrip N   two processes pass a counter back and forth N times
%%   spawn N       spawn_monitor a process that ends at once, wait for its 'DOWN', N times
%%   waiting N     N processes waiting in receive: memory per process
%% Each prints "NAME VALUE UNIT".
-mode(compile).

main(["roundtrip", N]) ->
    Count = list_to_integer(N),
    Echo = spawn(fun echo/0),
    T0 = erlang:monotonic_time(nanosecond),
    ping(Echo, 0, Count),
    T1 = erlang:monotonic_time(nanosecond),
    io:format("roundtrip ~.1f ns~n", [(T1 - T0) / Count]);
main(["spawn", N]) ->
    Count = list_to_integer(N),
    T0 = erlang:monotonic_time(nanosecond),
    spawns(Count),
    T1 = erlang:monotonic_time(nanosecond),
    io:format("spawn ~.1f ns~n", [(T1 - T0) / Count]);
main(["waiting", N]) ->
    Count = list_to_integer(N),
    erlang:garbage_collect(),
    Before = erlang:memory(processes),
    Pids = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, Count)],
    Self = self(),
    spawn(fun() -> Self ! ready end),
    receive ready -> ok end,
    After = erlang:memory(processes),
    io:format("waiting ~.1f bytes/process~n", [(After - Before) / Count]),
    {ok, Status} = file:read_file("/proc/self/status"),
    [Rss] = [L || L <- binary:split(Status, <<"\n">>, [global]), binary:part(L, 0, min(6, byte_size(L))) =:= <<"VmRSS:">>],
    io:format("rss ~s~n", [Rss]),
    [P ! stop || P <- Pids],
    ok.

echo() ->
    receive {From, V} -> From ! V, echo() end.

ping(_, Count, Count) -> ok;
ping(Echo, I, Count) ->
    Echo ! {self(), I},
    receive I -> ping(Echo, I + 1, Count) end.

spawns(0) -> ok;
spawns(K) ->
    {Pid, Ref} = spawn_monitor(fun() -> ok end),
    receive {'DOWN', Ref, process, Pid, _} -> ok end,
    spawns(K - 1).
