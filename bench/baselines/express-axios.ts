/**
 * Baseline "express-axios": Express + axios with a keep-alive http.Agent, the common choice in
 * hand-written BFFs.
 */
import http from 'node:http';
import axios from 'axios';
import express from 'express';

const USERS_URL = process.env.USERS_URL;
const ORDERS_URL = process.env.ORDERS_URL;
const RECS_URL = process.env.RECS_URL;

const client = axios.create({ timeout: 1000, httpAgent: new http.Agent({ keepAlive: true }) });
const getJson = async (url: string): Promise<unknown> => (await client.get(url)).data;

const app = express();

app.get('/v1/agg/:id', async (req, res) => {
  const id = req.params.id;
  try {
    const [user, orders, recs] = await Promise.all([
      getJson(`${USERS_URL}/users/${id}`),
      getJson(`${ORDERS_URL}/orders/${id}`),
      getJson(`${RECS_URL}/recs/${id}`),
    ]);
    res.json({ data: { user, orders, recs } });
  } catch (error) {
    res.status(502).json({ error: String(error) });
  }
});

app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
