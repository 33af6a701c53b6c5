%% The Erlang peer of Ember's network benchmarks: a process per connection
%% on gen_tcp, passive mode (a blocking recv, like Ember's handlers), the
%% same servers as benches/net_ember.rs.
%%
%%   erlc ember_net.erl && erl -noshell -s ember_net main echo 17001
%%
%% echo_hibernate: {active, once} and erlang:hibernate/3 between messages,
%% the way BEAM servers hold many idle connections.
-module(ember_net).
-export([main/1, wait_hibernated/1]).

-define(BODY, <<"Hello, world!\n">>).

main([Kind, Port]) ->
    {ok, L} = gen_tcp:listen(list_to_integer(atom_to_list(Port)),
                             [binary, {ip, {127,0,0,1}}, {reuseaddr, true}, {backlog, 4096},
                              {active, false}, {nodelay, true} | opts(Kind)]),
    accept(L, Kind).

%% Line framing by the driver for echo (what an Erlang echo server does);
%% raw bytes for HTTP, parsed as the other peers do.
opts(echo) -> [{packet, line}, {buffer, 4096}];
opts(echo_hibernate) -> [{packet, raw}];
opts(http) -> [{packet, raw}].

accept(L, Kind) ->
    case gen_tcp:accept(L) of
        {ok, S} ->
            Pid = spawn(fun() -> receive go -> ok end, serve(Kind, S, <<>>) end),
            ok = gen_tcp:controlling_process(S, Pid),
            Pid ! go;
        _ -> ok
    end,
    accept(L, Kind).

serve(echo_hibernate, S, _) ->
    ok = inet:setopts(S, [{active, once}]),
    erlang:hibernate(?MODULE, wait_hibernated, [S]);
serve(echo, S, _) ->
    case gen_tcp:recv(S, 0) of
        {ok, Line} ->
            case gen_tcp:send(S, Line) of
                ok -> serve(echo, S, <<>>);
                _ -> gen_tcp:close(S)
            end;
        _ -> gen_tcp:close(S)
    end;
serve(http, S, Buf) ->
    case binary:match(Buf, <<"\r\n\r\n">>) of
        {Pos, 4} ->
            Len = integer_to_binary(byte_size(?BODY)),
            Response = [<<"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ">>, Len,
                        <<"\r\n\r\n">>, ?BODY],
            case gen_tcp:send(S, Response) of
                ok -> serve(http, S, binary:part(Buf, Pos + 4, byte_size(Buf) - Pos - 4));
                _ -> gen_tcp:close(S)
            end;
        nomatch ->
            case gen_tcp:recv(S, 0) of
                {ok, More} -> serve(http, S, <<Buf/binary, More/binary>>);
                _ -> gen_tcp:close(S)
            end
    end.

wait_hibernated(S) ->
    receive
        {tcp, S, Data} ->
            ok = gen_tcp:send(S, Data),
            ok = inet:setopts(S, [{active, once}]),
            erlang:hibernate(?MODULE, wait_hibernated, [S]);
        {tcp_closed, S} -> ok;
        {tcp_error, S, _} -> gen_tcp:close(S)
    end.
