%% The processes bench/dist.escript starts on the other Erlang node: the
%% twins of the programs in dist/bench_test.go. The escript compiles this
%% file and loads it on both nodes.
-module(dist_helper).
-export([echo/0, nop/0, counter/2]).

%% echo answers every {From, V} with V.
echo() ->
    receive {From, V} -> From ! V, echo() end.

%% nop ends at once.
nop() -> ok.

%% counter counts messages, acknowledges every Batch of them to Parent
%% with the count so far, and answers done with the count.
counter(Parent, Batch) -> counter(Parent, Batch, 0).

counter(Parent, Batch, N) ->
    receive
        done -> Parent ! {count, N};
        _ ->
            M = N + 1,
            case M rem Batch of
                0 -> Parent ! {ack, M};
                _ -> ok
            end,
            counter(Parent, Batch, M)
    end.
